import type { ClampedOffset, ResetPosition } from '@keyed/sdk/backend'
import {
  checkDecimalOffsets,
  clampDecimalOffsets,
  ConfigError,
  decimalOffsets,
  GroupInUseError,
  TopicNotFoundError,
} from '@keyed/sdk/backend'
import type { MemoryBroker } from './broker.js'

/** A memory offset from the SDK: a decimal integer, as RecordMetadata gives it. */
export function parseOffset(offset: string): number {
  if (!decimalOffsets.valid(offset))
    throw new ConfigError(`Memory backend offsets are decimal integers (as messages carry them), got '${offset}'.`)
  return Number(offset)
}

function logsOf(broker: MemoryBroker, topic: string) {
  const logs = broker.partitionsOf(topic)
  if (logs.length === 0) throw new TopicNotFoundError(topic)
  return logs
}

/** Sets the group's committed next offsets, each clamped to [earliest, end] of its partition; refused while the group has members. */
export function resetOffsets(
  broker: MemoryBroker,
  groupId: string,
  topic: string,
  positions: readonly ResetPosition[],
): readonly ClampedOffset[] {
  const logs = logsOf(broker, topic)
  checkDecimalOffsets('memory', topic, positions)
  for (const p of positions)
    if (!logs[p.partition])
      throw new ConfigError(`Topic '${topic}' has partitions 0 to ${logs.length - 1}, not ${p.partition}.`)
  const group = broker.group(groupId)
  if (group.size > 0) throw new GroupInUseError(groupId, 'memory', group.size)
  const edges = new Map(
    logs.map((log) => [log.partition, { low: String(log.logStartOffset), high: String(log.logEndOffset) }]),
  )
  const { offsets, clamped } = clampDecimalOffsets(positions, edges)
  for (const p of offsets) group.reset(topic, p.partition, Number(p.offset))
  return clamped
}

/** Per partition, the first record at or after the time (records are in offset order, not necessarily in time order). */
export function offsetsForTimes(
  broker: MemoryBroker,
  topic: string,
  timestamp: number,
): Array<{ partition: number; offset: string | undefined }> {
  return logsOf(broker, topic).map((log) => {
    for (let at = log.logStartOffset; ;) {
      const [record] = log.read(at, 1)
      if (!record) return { partition: log.partition, offset: undefined }
      if (record.timestamp >= timestamp) return { partition: log.partition, offset: record.offset }
      at = Number(record.offset) + 1
    }
  })
}
