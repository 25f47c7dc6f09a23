import type { GroupPartitionOffset } from '@keyed/sdk/backend'
import { TopicNotFoundError } from '@keyed/sdk/backend'
import type { MemoryBroker } from './broker.js'

/** The group's committed next offsets against each partition's end (from the log start when nothing is committed); without topics, the topics the group committed in. */
export function committedOffsets(
  broker: MemoryBroker,
  groupId: string,
  topics?: readonly string[],
): GroupPartitionOffset[] {
  const group = broker.existingGroup(groupId)
  const names =
    topics ??
    broker
      .topicNames()
      .filter((t) => broker.partitionsOf(t).some((log) => group?.committedOffset(t, log.partition) !== undefined))
  return names.flatMap((topic) => {
    const logs = broker.partitionsOf(topic)
    if (logs.length === 0) throw new TopicNotFoundError(topic)
    return logs.map((log) => {
      const next = group?.committedOffset(topic, log.partition)
      const end = log.logEndOffset
      return {
        topic,
        partition: log.partition,
        committed: next === undefined ? undefined : String(next),
        end: String(end),
        lag: Math.max(0, end - (next ?? log.logStartOffset)),
      }
    })
  })
}
