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

export function uniqueTopic(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`
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
