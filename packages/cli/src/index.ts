export { run } from './program.js'
export { KeyCounts, type KeyEntry } from './keys/counts.js'
export { analyzeKeys, topEntries, type HotKey, type KeyAnalysis, type PartitionLoad, type VerdictLevel } from './keys/analyze.js'
export { planPartitions, type Alternative, type MovedKey, type PartitionPlan } from './keys/plan.js'
