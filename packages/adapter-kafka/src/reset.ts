import type { Admin } from 'kafkajs'
import type { ClampedOffset, ResetPosition } from '@keyed/sdk/backend'
import { checkDecimalOffsets, clampDecimalOffsets, GroupInUseError } from '@keyed/sdk/backend'
import { root, toKeyedError, type ErrorContext } from './errors.js'

/**
 * Commits the group's new positions as an admin (generation -1), the way Kafka's kafka-consumer-groups
 * --reset-offsets does, so each side sees the other's resets. The coordinator refuses such commits while the group
 * has members; asking first names them in a GroupInUseError. Offsets are checked before anything touches the group
 * (kafkajs's setOffsets joins a member of its own, which a bad offset would leave behind) and clamped to
 * [earliest, end], which kafkajs would otherwise let through for the consumer's default to apply.
 */
export async function resetOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
  positions: readonly ResetPosition[],
  context: ErrorContext,
): Promise<readonly ClampedOffset[]> {
  checkDecimalOffsets('kafka', topic, positions)
  const action = `reset the offsets of group '${groupId}' in '${topic}'`
  try {
    const [group] = (await admin.describeGroups([groupId])).groups
    if (group && group.members.length > 0) throw new GroupInUseError(groupId, 'kafka', group.members.length)
    const edges = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]))
    const { offsets, clamped } = clampDecimalOffsets(positions, edges)
    await admin.setOffsets({ groupId, topic, partitions: offsets })
    return clamped
  } catch (error) {
    if (error instanceof GroupInUseError) throw error
    // A member that joined between the check and the commit: the coordinator refused the commit.
    const type = root(error).type
    if (type === 'UNKNOWN_MEMBER_ID' || type === 'ILLEGAL_GENERATION' || /no running instances/.test(String(error)))
      throw new GroupInUseError(groupId, 'kafka', undefined)
    throw toKeyedError(error, action, context)
  }
}

/** ListOffsets by timestamp: the first offset whose timestamp is at or after the time, or the end where none is. */
export async function offsetsForTimes(
  admin: Admin,
  topic: string,
  timestamp: number,
  context: ErrorContext,
): Promise<Array<{ partition: number; offset: string | undefined }>> {
  try {
    const found = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)
    return found.map(({ partition, offset }) => ({ partition, offset })).sort((a, b) => a.partition - b.partition)
  } catch (error) {
    throw toKeyedError(error, `look up the offsets of '${topic}' at ${new Date(timestamp).toISOString()}`, context)
  }
}
