export { run } from './program.js'
export { KeyCounts, type KeySet } from './keys/counts.js'
export { LineKeys } from './keys/lines.js'
export {
  analyzeKeys,
  topKeys,
  type HotKey,
  type KeyAnalysis,
  type PartitionLoad,
  type VerdictLevel,
} from './keys/analyze.js'
export { planPartitions, type Alternative, type MovedKey, type PartitionPlan } from './keys/plan.js'
