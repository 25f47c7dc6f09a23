import type { CleanupPolicy } from '@keyed/sdk'
import type { TopicDescription, TopicSpec } from '@keyed/sdk/backend'

/** A topic's metadata as stored in Redis: what every client compacts, retains and partitions by. */
export interface TopicMeta extends TopicDescription {
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly deleteRetentionMs: number
  readonly minCompactionLagMs: number
}

/** Kafka's defaults: keep forever unless told (topics here have no broker-wide retention.ms), tombstones for a day. */
const DAY_MS = 86_400_000

export function metaFields(spec: TopicSpec): string[] {
  return [
    'partitions',
    String(spec.partitions),
    'cleanupPolicy',
    spec.cleanupPolicy,
    'retentionMs',
    String(spec.retentionMs ?? -1),
    'retentionBytes',
    String(spec.retentionBytes ?? -1),
    'deleteRetentionMs',
    String(spec.deleteRetentionMs ?? DAY_MS),
    'minCompactionLagMs',
    String(spec.minCompactionLagMs ?? 0),
  ]
}

export function parseMeta(name: string, hash: Record<string, string>): TopicMeta | undefined {
  if (hash.partitions === undefined) return undefined
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v))
  return {
    name,
    partitions: Number(hash.partitions),
    cleanupPolicy: (hash.cleanupPolicy ?? 'delete') as CleanupPolicy,
    retentionMs: num(hash.retentionMs, -1),
    retentionBytes: num(hash.retentionBytes, -1),
    deleteRetentionMs: num(hash.deleteRetentionMs, DAY_MS),
    minCompactionLagMs: num(hash.minCompactionLagMs, 0),
  }
}

export { isCompacted } from '@keyed/sdk/backend'

/** Time and size retention apply to 'delete' and 'compact,delete' topics. */
export function hasRetention(meta: TopicMeta): boolean {
  return meta.cleanupPolicy !== 'compact' && (meta.retentionMs >= 0 || meta.retentionBytes >= 0)
}
