import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { redis, type RedisOptions } from '../src/index.js'

export const REDIS_URL = process.env.KEYED_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test run uses; the 6379 server is shared by every run on the machine. */
export function runPrefix(): string {
  return `keyed-test:${process.pid}-${randomBytes(4).toString('hex')}:`
}

export function backendFactory(prefix: string, extra: RedisOptions = {}) {
  return () => redis({ url: REDIS_URL, keyPrefix: prefix, blockMs: 200, cleanerIntervalMs: 100, ...extra })
}

/** Deletes every key under the prefix. */
export async function cleanup(prefix: string, url = REDIS_URL): Promise<void> {
  const conn = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await conn.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length) await conn.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    conn.disconnect()
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

export function uniqueTopic(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`
}

/** Per key, the first time each sequence number shows up must be in increasing order, and none may be missing. */
export function checkPerKeyOrder(seen: ReadonlyArray<{ key: string; seq: number }>, expectedPerKey: number): void {
  const firsts = new Map<string, number[]>()
  const done = new Map<string, Set<number>>()
  for (const { key, seq } of seen) {
    const set = done.get(key) ?? new Set<number>()
    done.set(key, set)
    if (set.has(seq)) continue
    set.add(seq)
    const list = firsts.get(key) ?? []
    firsts.set(key, list)
    list.push(seq)
  }
  for (const [key, list] of firsts) {
    for (let i = 0; i < list.length; i++) {
      if (list[i] !== i) throw new Error(`key ${key}: record ${list[i]} came first at position ${i} (seen ${list.slice(0, i + 1).join(',')})`)
    }
    if (list.length !== expectedPerKey) throw new Error(`key ${key}: ${list.length} of ${expectedPerKey} records`)
  }
}

/** True when a redis-server answers PING at the url; one try, no reconnects. */
export async function answers(url: string): Promise<boolean> {
  const conn = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  conn.on('error', () => undefined)
  try {
    await conn.connect()
    return (await conn.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    conn.disconnect()
  }
}
