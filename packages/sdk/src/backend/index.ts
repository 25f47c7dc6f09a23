export type * from './contract.js'
export { assignPartitions } from './assign.js'
export { KeyedError, BackendUnavailableError, FencedError, ConfigError, TopicMismatchError } from '../errors.js'
