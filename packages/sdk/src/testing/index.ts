export { describeConformance } from './suite.js'
export { Harness, missing, orderViolations, sleep, unique, waitFor, type ConformanceOptions, type Handled } from './harness.js'
