import type { Backend, ResetPosition } from './backend/contract.js'
import { ConfigError, TopicNotFoundError } from './errors.js'
import type { Logger } from './logger.js'
import type { AnyTopic } from './topic.js'

/**
 * Where admin().resetOffsets() moves a group in a topic: every partition to its oldest surviving record ('earliest')
 * or its end ('latest', only records written after), each partition to the first record at or after a time
 * (`{ timestamp }`, ms since the epoch; the end where there is none), or the partitions named to an offset each
 * (`{ 0: '42', 3: '0' }`; offsets as messages carry them, stream entry ids on Redis; other partitions keep theirs).
 * An offset outside [earliest, end] of its partition is clamped to the nearer edge, as `kafka-consumer-groups
 * --reset-offsets --to-offset` does, and logged at warn; a malformed offset or a partition the topic lacks is a
 * ConfigError, with nothing changed.
 */
export type OffsetResetTarget =
  'earliest' | 'latest' | { readonly timestamp: number } | Readonly<Record<number, string>>

/** Checks the target and turns it into a position per partition, then has the backend move the group there. */
export async function resetOffsets(
  backend: Backend,
  groupId: string,
  topic: AnyTopic | string,
  to: OffsetResetTarget,
  logger?: Logger,
): Promise<void> {
  const name = typeof topic === 'string' ? topic : topic?.name
  const call = `resetOffsets('${String(groupId)}', '${String(name)}')`
  if (typeof groupId !== 'string' || groupId === '') throw new ConfigError(`${call} needs a groupId.`)
  if (typeof name !== 'string' || name === '') throw new ConfigError(`${call} needs a topic or a topic name.`)
  if (!backend.resetOffsets)
    throw new ConfigError(`The ${backend.name} backend cannot reset offsets: it does not implement resetOffsets().`)
  const described = await backend.describeTopic(name)
  if (!described) throw new TopicNotFoundError(name)
  const all = Array.from({ length: described.partitions }, (_, partition) => partition)
  let positions: ResetPosition[]
  if (to === 'earliest' || to === 'latest') {
    const edge: 'earliest' | 'latest' = to === 'earliest' ? 'earliest' : 'latest'
    positions = all.map((partition) => ({ partition, to: edge }))
  } else if (typeof to === 'object' && to !== null && 'timestamp' in to) {
    const { timestamp } = to as { timestamp: unknown }
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0)
      throw new ConfigError(`${call}: { timestamp } must be milliseconds since the epoch, got ${String(timestamp)}.`)
    if (!backend.offsetsForTimes)
      throw new ConfigError(`The ${backend.name} backend cannot look up offsets for times: it lacks offsetsForTimes().`)
    const found = await backend.offsetsForTimes(name, timestamp)
    positions = found.map(({ partition, offset }) =>
      offset === undefined ? { partition, to: 'latest' as const } : { partition, offset },
    )
  } else if (typeof to === 'object' && to !== null) {
    positions = Object.entries(to).map(([key, offset]: [string, unknown]) => {
      const partition = Number(key)
      if (!all.includes(partition))
        throw new ConfigError(`${call}: '${name}' has partitions 0 to ${all.length - 1}, not '${key}'.`)
      if ((typeof offset !== 'string' || offset === '') && !Number.isInteger(offset))
        throw new ConfigError(
          `${call}: the offset of partition ${key} must be an offset string, got ${String(offset)}.`,
        )
      return { partition, offset: String(offset) }
    })
    if (positions.length === 0) throw new ConfigError(`${call}: name at least one partition and its offset.`)
  } else
    throw new ConfigError(
      `${call}: 'to' must be 'earliest', 'latest', { timestamp } or { [partition]: offset }, got ${JSON.stringify(to)}.`,
    )
  const clamped = (await backend.resetOffsets(groupId, name, positions)) ?? []
  for (const c of clamped)
    logger?.warn(
      { groupId, topic: name, partition: c.partition, requested: c.requested, offset: c.offset },
      `${call}: offset ${c.requested} of partition ${c.partition} is outside the partition's [earliest, end]; set to ${c.offset} instead.`,
    )
}
