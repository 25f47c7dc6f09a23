import type { TopicPartition } from './contract.js'

/**
 * Spreads partitions over group members: each partition to exactly one member, counts differing by at most one.
 * Deterministic (members and partitions are sorted), so every member computes the same plan from the same view.
 * For backends without a broker-side assignor (memory, Redis); Kafka uses its own protocol.
 */
export function assignPartitions(
  memberIds: readonly string[],
  partitions: readonly TopicPartition[],
): Map<string, TopicPartition[]> {
  const members = [...new Set(memberIds)].sort()
  const plan = new Map<string, TopicPartition[]>(members.map((m) => [m, []]))
  if (members.length === 0) return plan
  const sorted = [...partitions].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  )
  sorted.forEach((tp, i) => plan.get(members[i % members.length]!)!.push(tp))
  return plan
}
