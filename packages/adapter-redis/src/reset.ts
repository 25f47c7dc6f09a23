import type { ClampedOffset, OffsetRange, ResetPosition } from '@keyed/sdk/backend'
import { ConfigError, GroupInUseError } from '@keyed/sdk/backend'
import type { RedisContext } from './context.js'
import { translated } from './errors.js'
import { compareIds, idAfter, idBefore, isEntryId } from './ids.js'
import { seek } from './scripts.js'

type Context = Pick<RedisContext, 'connection' | 'keys' | 'options' | 'topicMeta'>

/**
 * Moves the group's stream position in each partition (XGROUP SETID, pending entries dropped), refused while the group
 * has live members reading the topic or any lease of its partitions is held (a member that has not let go yet). An id
 * past the stream's last entry is clamped to it (and one before its first entry to the start), as Kafka clamps an
 * offset to [earliest, end]: a group set past the end would skip, unseen, the entries appended until ids reach it.
 */
export async function resetOffsets(
  context: Context,
  groupId: string,
  topic: string,
  positions: readonly ResetPosition[],
): Promise<readonly ClampedOffset[]> {
  const { keys } = context
  return translated(`reset the offsets of group '${groupId}' in '${topic}'`, context.options.server, async () => {
    const meta = await context.topicMeta(topic)
    for (const p of positions) {
      if (p.partition < 0 || p.partition >= meta.partitions)
        throw new ConfigError(`Topic '${topic}' has partitions 0 to ${meta.partitions - 1}, not ${p.partition}.`)
      if ('offset' in p && !isEntryId(p.offset))
        throw new ConfigError(`Redis offsets are stream entry ids ('<ms>-<seq>'), got '${p.offset}'.`)
    }
    const conn = await context.connection()
    // Member sets are scored by expiry on the server's clock.
    const [seconds, micros] = (await conn.time()) as [string | number, string | number]
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const live = await conn.zcount(keys.members(groupId, topic), `(${now}`, '+inf')
    if (live > 0) throw new GroupInUseError(groupId, 'redis', live)
    const clamped: ClampedOffset[] = []
    for (const p of positions) {
      let lastRead = 'offset' in p ? idBefore(p.offset) : p.to === 'earliest' ? '0' : '$'
      if ('offset' in p) {
        const stream = keys.stream(topic, p.partition)
        const [[first] = []] = (await conn.xrange(stream, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>
        const [[last] = []] = (await conn.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>
        if (last === undefined || compareIds(p.offset, last) > 0) {
          lastRead = '$'
          clamped.push({ partition: p.partition, requested: p.offset, offset: last ?? '0' })
        } else if (first !== undefined && compareIds(p.offset, first) < 0) {
          lastRead = '0'
          clamped.push({ partition: p.partition, requested: p.offset, offset: first })
        }
      }
      const reply = await seek.run(
        conn,
        [keys.stream(topic, p.partition), keys.lease(topic, p.partition, groupId)],
        ['', groupId, lastRead],
      )
      if (reply === -2) throw new GroupInUseError(groupId, 'redis', undefined)
    }
    return clamped
  })
}

/**
 * The stream's first entry and the id just after the last one it generated (entries deleted since included): a seek
 * there reads only entries added after, whatever ids they get.
 */
export async function offsetRange(context: Context, topic: string, partition: number): Promise<OffsetRange> {
  return translated(`look up the range of ${topic}[${partition}]`, context.options.server, async () => {
    const conn = await context.connection()
    const info = (await conn.xinfo('STREAM', context.keys.stream(topic, partition))) as unknown[]
    const field = (name: string) => info[info.indexOf(name) + 1]
    const last = field('last-generated-id')
    const high = idAfter(typeof last === 'string' ? last : '0-0')
    const first = field('first-entry') as unknown[] | null | undefined
    return { low: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : high, high }
  })
}

/** Per partition, the first entry whose id's time (when the server appended it) is at or after the timestamp. */
export async function offsetsForTimes(
  context: Context,
  topic: string,
  timestamp: number,
): Promise<Array<{ partition: number; offset: string | undefined }>> {
  return translated(`look up the offsets of '${topic}' by time`, context.options.server, async () => {
    const meta = await context.topicMeta(topic)
    const conn = await context.connection()
    return Promise.all(
      Array.from({ length: meta.partitions }, async (_, partition) => {
        const [first] = (await conn.xrange(
          context.keys.stream(topic, partition),
          `${Math.floor(timestamp)}-0`,
          '+',
          'COUNT',
          1,
        )) as Array<[string, string[]]>
        return { partition, offset: first?.[0] }
      }),
    )
  })
}
