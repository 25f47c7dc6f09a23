import type { ResetPosition } from '@keyed/sdk/backend'
import { ConfigError, GroupInUseError, TopicNotFoundError } from '@keyed/sdk/backend'
import type { MemoryBroker } from './broker.js'

/** A memory offset from the SDK: a decimal integer, as RecordMetadata gives it. */
export function parseOffset(offset: string): number {
  if (!/^\d+$/.test(offset))
    throw new ConfigError(`Memory backend offsets are decimal integers (as messages carry them), got '${offset}'.`)
  return Number(offset)
}

function logsOf(broker: MemoryBroker, topic: string) {
  const logs = broker.partitionsOf(topic)
  if (logs.length === 0) throw new TopicNotFoundError(topic)
  return logs
}

/** Sets the group's committed next offsets; refused while the group has members. */
export function resetOffsets(
  broker: MemoryBroker,
  groupId: string,
  topic: string,
  positions: readonly ResetPosition[],
): void {
  const logs = logsOf(broker, topic)
  const group = broker.group(groupId)
  if (group.size > 0) throw new GroupInUseError(groupId, 'memory', group.size)
  const next = positions.map((p) => {
    const log = logs[p.partition]
    if (!log) throw new ConfigError(`Topic '${topic}' has no partition ${p.partition}.`)
    if ('offset' in p) return { partition: p.partition, offset: parseOffset(p.offset) }
    return { partition: p.partition, offset: p.to === 'earliest' ? log.logStartOffset : log.logEndOffset }
  })
  for (const p of next) group.reset(topic, p.partition, p.offset)
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
