import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { waitFor } from '@keyed/sdk/testing'
import { Keys } from '../src/keys.js'
import { CLUSTER_BASE } from './helpers.js'

const script = fileURLToPath(new URL('../../../scripts/redis-cluster.sh', import.meta.url))
const BASE = CLUSTER_BASE

/** A connection to the first node of the test cluster that answers. */
async function anyNode(): Promise<Redis> {
  for (let port = BASE; port < BASE + 6; port++) {
    const conn = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    conn.on('error', () => undefined)
    try {
      await conn.connect()
      return conn
    } catch {
      conn.disconnect()
    }
  }
  throw new Error(`no node of the test cluster answers on ${BASE}-${BASE + 5}`)
}

/** Runs scripts/redis-cluster.sh (kill N, restart N, wait). */
export function clusterScript(...args: string[]): void {
  execFileSync('bash', [script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, KEYED_REDIS_CLUSTER_PORT: String(BASE) },
  })
}

/** CLUSTER NODES of the first node that answers: port -> role and the slot ranges it serves. */
async function nodes(): Promise<
  Array<{ id: string; port: number; primary: boolean; failed: boolean; slots: Array<[number, number]> }>
> {
  const conn = await anyNode()
  try {
    const text = String(await conn.call('CLUSTER', 'NODES'))
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, , , , , , ...ranges] = line.split(' ')
        return {
          id: id!,
          port: Number(address!.split(':')[1]!.split('@')[0]),
          primary: flags!.includes('master'),
          failed: flags!.includes('fail'),
          slots: ranges
            .filter((r) => !r.startsWith('['))
            .map((r) => {
              const [a, b] = r.split('-').map(Number)
              return [a!, b ?? a!] as [number, number]
            }),
        }
      })
  } finally {
    conn.disconnect()
  }
}

/** The node index (0-5, for clusterScript) of the primary serving the partition's stream now. */
export async function primaryOf(prefix: string, topic: string, partition: number): Promise<number> {
  const conn = await anyNode()
  let slot: number
  try {
    slot = Number(await conn.call('CLUSTER', 'KEYSLOT', new Keys(prefix).stream(topic, partition)))
  } finally {
    conn.disconnect()
  }
  const node = (await nodes()).find((n) => n.primary && !n.failed && n.slots.some(([a, b]) => a <= slot && slot <= b))
  if (!node) throw new Error(`no primary serves slot ${slot}`)
  return node.port - BASE
}

/** Until a replica of the killed node's shard was promoted and every live node reports ok. */
export async function failedOver(killed: number): Promise<void> {
  await waitFor(`a replica promoted in place of node ${killed}`, 20_000, async () => {
    const all = await nodes()
    return (
      all.filter((n) => n.primary && !n.failed && n.slots.length > 0).length === 3 &&
      !all.some((n) => n.port === BASE + killed && n.primary && !n.failed)
    )
  })
  clusterScript('wait')
}

/**
 * For the topic's 12 partitions: the primary holding the one nearest the start of its slot range, another primary,
 * and how many slots a reshard from the first to the second must move to carry that partition along.
 */
export async function slotsToMove(topic: string): Promise<{ from: string; to: string; count: number }> {
  const conn = await anyNode()
  const all = (await nodes()).filter((n) => n.primary && !n.failed && n.slots.length > 0)
  let best = { from: '', to: '', count: Infinity }
  try {
    for (let p = 0; p < 12; p++) {
      // The slot is the hash tag's: the same for every key of the partition, whatever the prefix.
      const slot = Number(await conn.call('CLUSTER', 'KEYSLOT', `{${topic}:${p}}`))
      const owner = all.find((n) => n.slots.some(([a, b]) => a <= slot && slot <= b))!
      const [start] = owner.slots.find(([a, b]) => a <= slot && slot <= b)!
      const count = slot - start + 1
      if (count < best.count) best = { from: owner.id, to: all.find((n) => n !== owner)!.id, count }
    }
  } finally {
    conn.disconnect()
  }
  return best
}

/** The node ids of the primaries serving the topic's 12 partitions now. */
export async function ownersOf(topic: string): Promise<string[]> {
  const conn = await anyNode()
  const all = (await nodes()).filter((n) => n.primary && !n.failed)
  try {
    const slots = await Promise.all(
      Array.from({ length: 12 }, async (_, p) => Number(await conn.call('CLUSTER', 'KEYSLOT', `{${topic}:${p}}`))),
    )
    return slots.map((slot) => all.find((n) => n.slots.some(([a, b]) => a <= slot && slot <= b))?.id ?? 'none')
  } finally {
    conn.disconnect()
  }
}

/** redis-cli --cluster reshard: moves `count` slots (the first of the source's) with their keys. */
export function reshard(from: string, to: string, count: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'redis-cli',
      [
        '--cluster',
        'reshard',
        `127.0.0.1:${BASE}`,
        '--cluster-from',
        from,
        '--cluster-to',
        to,
        '--cluster-slots',
        String(count),
        '--cluster-yes',
      ],
      { maxBuffer: 1 << 24 },
      (error) => (error ? reject(new Error(`redis-cli --cluster reshard failed: ${error.message}`)) : resolve()),
    ),
  )
}
