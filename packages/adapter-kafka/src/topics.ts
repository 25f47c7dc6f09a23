import type { CleanupPolicy } from '@keyed/sdk'
import type { TopicSpec } from '@keyed/sdk/backend'

/** Kafka topic configs for a declared topic; spec.config is passed through and wins. */
export function topicConfigEntries(spec: TopicSpec): Array<{ name: string; value: string }> {
  const config: Record<string, string> = { 'cleanup.policy': spec.cleanupPolicy }
  if (spec.retentionMs !== undefined) config['retention.ms'] = String(spec.retentionMs)
  if (spec.retentionBytes !== undefined) config['retention.bytes'] = String(spec.retentionBytes)
  if (spec.deleteRetentionMs !== undefined) config['delete.retention.ms'] = String(spec.deleteRetentionMs)
  if (spec.minCompactionLagMs !== undefined) config['min.compaction.lag.ms'] = String(spec.minCompactionLagMs)
  Object.assign(config, spec.config)
  return Object.entries(config).map(([name, value]) => ({ name, value }))
}

/** Kafka lists policies in any order ('delete,compact'); keyed spells the pair 'compact,delete'. */
export function parseCleanupPolicy(value: string | undefined): CleanupPolicy {
  const parts = new Set(
    (value ?? 'delete')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )
  if (parts.has('compact') && parts.has('delete')) return 'compact,delete'
  return parts.has('compact') ? 'compact' : 'delete'
}

/** Kafka topic configs that are TopicSpec fields. */
export const TOPIC_FIELDS: Record<
  string,
  keyof Pick<TopicSpec, 'retentionMs' | 'retentionBytes' | 'deleteRetentionMs' | 'minCompactionLagMs'>
> = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'delete.retention.ms': 'deleteRetentionMs',
  'min.compaction.lag.ms': 'minCompactionLagMs',
}
