import type { Subscription, TopicPartition } from '@keyed/sdk/backend'

/**
 * The partitions whose start a member commits as it takes them, on both transports: those of a fromBeginning: false
 * subscription in which the group has no committed position. Such a group starts at the partition's end as of when it
 * first took the partition, committed then, before any record of it is handed over: a member that takes the partition
 * later (a rebalance, a restart, a second member) goes on from there, not from the end as of its own join, which would
 * skip what was written in between.
 */
export function startsToPin<P extends TopicPartition & { readonly committed: unknown }>(
  subscriptions: readonly Subscription[],
  partitions: readonly P[],
): P[] {
  const latest = new Set(subscriptions.filter((s) => !s.fromBeginning).map((s) => s.topic))
  return partitions.filter((p) => p.committed === undefined && latest.has(p.topic))
}
