export { describeConformance } from './suite.js'
export { Harness, unique, type ConformanceOptions } from './harness.js'
export { missing, orderViolations, type Handled, type Sequenced } from './accounting.js'
export { sleep, waitFor } from './wait.js'
