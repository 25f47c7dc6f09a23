export type * from './contract.js'
export { assignPartitions } from './assign.js'
export * from '../errors.js'
