import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { Keys } from '../src/keys.js'
import { appendPayload } from '../src/records.js'
import { append } from '../src/scripts.js'
import { cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

const prefix = runPrefix()
const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
const keys = new Keys(prefix)

afterAll(async () => {
  await cleanup(prefix)
  conn.disconnect()
})

const records = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    topic,
    partition: 0,
    key: Buffer.from(`k${i}`),
    value: Buffer.from(String(i)),
    headers: {},
    timestamp: 1,
  }))

describe('the append script is idempotent per producer and send', () => {
  it('run again with the same producer and sequence (an ioredis resend after a lost reply), it appends nothing and returns the first ids', async () => {
    const topic = uniqueTopic('resend')
    const stream = keys.stream(topic, 0)
    const sent = keys.sent(topic, 0, 'producer-a')
    const rs = records(topic, 3)
    const payload = appendPayload(
      rs,
      rs.map((_, i) => i),
    )
    const first = await append.run(conn, [stream, sent], [payload, '7', 60_000])
    const again = await append.run(conn, [stream, sent], [payload, '7', 60_000])
    expect(again).toEqual(first)
    expect(await conn.xlen(stream)).toBe(3)
    // The next send of the producer, and another producer's send with the same number, append.
    await append.run(conn, [stream, sent], [payload, '8', 60_000])
    await append.run(conn, [stream, keys.sent(topic, 0, 'producer-b')], [payload, '8', 60_000])
    expect(await conn.xlen(stream)).toBe(9)
    // What is remembered expires.
    expect(await conn.pttl(sent)).toBeGreaterThan(0)
  })

  it('on a compacted topic the resend changes neither the index nor the dirty count', async () => {
    const topic = uniqueTopic('resend-compact')
    const k = [keys.stream(topic, 0), keys.sent(topic, 0, 'p'), keys.index(topic, 0), keys.dirty(topic, 0)] as const
    const rs = records(topic, 2)
    const payload = appendPayload(rs, [0, 1])
    await append.run(conn, [...k], [payload, '1', 60_000])
    await append.run(conn, [...k], [payload, '2', 60_000])
    const index = await conn.hgetall(k[2])
    const dirty = await conn.get(k[3])
    await append.run(conn, [...k], [payload, '2', 60_000])
    expect(await conn.hgetall(k[2])).toEqual(index)
    expect(await conn.get(k[3])).toBe(dirty)
    expect(await conn.xlen(k[0])).toBe(4)
  })
})
