import { Cluster, type Redis } from 'ioredis'
import type { Connection } from './connection.js'
import type { GroupPartitionOffset, TopicSpec } from '@keyed/sdk/backend'
import type { RedisContext } from './context.js'
import { translated } from './errors.js'
import type { TopicMeta } from './topics.js'

type Context = Pick<RedisContext, 'topicMeta' | 'connection' | 'keys' | 'options'>

/** A flat [name, value, …] reply as a map. */
function fields(reply: unknown): Map<string, string | number | null> {
  const list = Array.isArray(reply) ? (reply as Array<string | number | null>) : []
  const out = new Map<string, string | number | null>()
  for (let i = 0; i + 1 < list.length; i += 2) out.set(String(list[i]), list[i + 1]!)
  return out
}

/** Entries after `after` (exclusive), counted in chunks; only when XINFO's lag is unknown (entries were deleted). */
async function countAfter(conn: Connection, stream: string, after: string): Promise<number> {
  let count = 0
  let cursor = after
  for (;;) {
    const chunk = (await conn.xrange(stream, `(${cursor}`, '+', 'COUNT', 10_000)) as Array<[string, string[]]>
    count += chunk.length
    if (chunk.length < 10_000) return count
    cursor = chunk[chunk.length - 1]![0]
  }
}

/**
 * The group's position in one stream. A commit acknowledges the delivered prefix, so the committed position is the
 * entry before the oldest pending one, or the last delivered id when nothing is pending; lag is the pending entries
 * plus those never delivered (XINFO GROUPS' lag on Redis 7, counted when deletions made it unknown).
 */
async function position(
  conn: Connection,
  stream: string,
  groupId: string,
): Promise<{ committed: string | undefined; lag: number } | undefined> {
  let groups: unknown[]
  try {
    groups = (await conn.xinfo('GROUPS', stream)) as unknown[]
  } catch (error) {
    if (/no such key/i.test(String((error as Error).message))) return undefined
    throw error
  }
  const group = groups.map(fields).find((g) => String(g.get('name')) === groupId)
  if (!group) return undefined
  const pending = Number(group.get('pending') ?? 0)
  const lastDelivered = String(group.get('last-delivered-id') ?? '0-0')
  let committed = lastDelivered
  if (pending > 0) {
    const [, oldest] = (await conn.xpending(stream, groupId)) as [number, string | null, string | null, unknown]
    const [before] = oldest
      ? ((await conn.xrevrange(stream, `(${oldest}`, '-', 'COUNT', 1)) as Array<[string, string[]]>)
      : []
    committed = before?.[0] ?? '0-0'
  }
  const undelivered = group.get('lag')
  const lag = pending + (typeof undelivered === 'number' ? undelivered : await countAfter(conn, stream, lastDelivered))
  // '0-0': the group exists (a member joined) but finished nothing.
  return { committed: committed === '0-0' ? undefined : committed, lag }
}

/** Topic names under the key prefix, for a group asked about without topics. */
async function topicNames(conn: Connection, context: Context): Promise<string[]> {
  const prefix = context.keys.topic('')
  const names = new Set<string>()
  // SCAN walks one node; a cluster's keys are spread over its primaries.
  const nodes: Redis[] = conn instanceof Cluster ? conn.nodes('master') : [conn]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000)
      cursor = next
      for (const key of keys) names.add(key.slice(prefix.length))
    } while (cursor !== '0')
  }
  return [...names].sort()
}

/** Where the group stands in each partition of the topics; without topics, in every topic where it has a stream group. */
export async function committedOffsets(
  context: Context,
  groupId: string,
  topics?: readonly string[],
): Promise<GroupPartitionOffset[]> {
  const { server } = context.options
  return translated(`read the positions of group '${groupId}'`, server, async () => {
    const conn = await context.connection()
    const out: GroupPartitionOffset[] = []
    for (const topic of topics ?? (await topicNames(conn, context))) {
      const meta = await context.topicMeta(topic)
      const rows: GroupPartitionOffset[] = []
      for (let partition = 0; partition < meta.partitions; partition++) {
        const stream = context.keys.stream(topic, partition)
        const [newest] = (await conn.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>
        const at = await position(conn, stream, groupId)
        rows.push({
          topic,
          partition,
          committed: at?.committed,
          end: newest?.[0] ?? '0-0',
          lag: at?.lag ?? (await conn.xlen(stream)),
        })
      }
      if (topics || rows.some((r) => r.committed !== undefined)) out.push(...rows)
    }
    return out
  })
}

/** The stored metadata as the spec that created it. */
export function specOf(meta: TopicMeta): TopicSpec {
  const { name, partitions, cleanupPolicy, retentionMs, retentionBytes, deleteRetentionMs, minCompactionLagMs } = meta
  return {
    name,
    partitions,
    cleanupPolicy,
    retentionMs,
    retentionBytes,
    deleteRetentionMs,
    minCompactionLagMs,
    config: {},
  }
}
