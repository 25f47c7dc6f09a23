import { createClient, defineTopic, isKeyedError, serdes } from '@keyed/sdk'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { toKeyedError } from '../src/errors.js'
import { redis } from '../src/index.js'
import { Keys } from '../src/keys.js'
import { appendPayload } from '../src/records.js'
import { append } from '../src/scripts.js'
import { parseRedisUrl } from '../src/url.js'
import { cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'
import { replyDroppingProxy } from './proxy.js'

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

describe('resends after a reconnect neither duplicate nor reorder', () => {
  const payloadOf = (topic: string) => {
    const rs = records(topic, 1)
    return appendPayload(rs, [0])
  }
  const refusal = (run: Promise<unknown>) =>
    run.then(
      () => 'appended',
      (e: Error) => e.message,
    )

  it('an append resent after a later one of its producer landed returns its first ids, from a window of 16', async () => {
    const topic = uniqueTopic('resend-window')
    const k: [string, string] = [keys.stream(topic, 0), keys.sent(topic, 0, 'p')]
    const payload = payloadOf(topic)
    const ids: string[][] = []
    for (let seq = 1; seq <= 20; seq++) ids[seq] = await append.run(conn, k, [payload, String(seq), 60_000])
    expect(await conn.xlen(k[0])).toBe(20)
    // 5..20 are in the window: their resends return their first ids.
    for (const seq of [20, 19, 12, 5])
      expect(await append.run(conn, k, [payload, String(seq), 60_000])).toEqual(ids[seq])
    // 1..4 are no longer remembered: refused rather than appended twice.
    expect(await refusal(append.run(conn, k, [payload, '4', 60_000]))).toBe('KEYEDSTALE 4 20')
    expect(await conn.xlen(k[0])).toBe(20)
    expect(await conn.hlen(k[1])).toBe(17) // 16 slots and the highest sequence
    expect(await conn.pttl(k[1])).toBeGreaterThan(0)
  })

  it('an append never applied that comes after a later one is refused, appending nothing, and the adapter says so', async () => {
    const topic = uniqueTopic('resend-late')
    const k: [string, string] = [keys.stream(topic, 0), keys.sent(topic, 0, 'p')]
    const payload = payloadOf(topic)
    await append.run(conn, k, [payload, '1', 60_000])
    await append.run(conn, k, [payload, '3', 60_000]) // a sequence the partition skipped (send 2 went elsewhere)
    const error = await append.run(conn, k, [payload, '2', 60_000]).catch((e: unknown) => e)
    expect((error as Error).message).toBe('KEYEDSTALE 2 3')
    expect(await conn.xlen(k[0])).toBe(2)
    const keyed = toKeyedError(error, 'append 1 record(s) to partition 0', parseRedisUrl(REDIS_URL))
    expect(isKeyedError(keyed, 'BACKEND_REFUSED')).toBe(true)
    expect(keyed.retriable).toBe(false)
    expect(keyed.message).toMatch(/nothing of it was appended/)
    // Later sends go on.
    await append.run(conn, k, [payload, '4', 60_000])
    expect(await conn.xlen(k[0])).toBe(3)
  })

  const values = async (prefix: string, topic: string) =>
    (await conn.xrange(`${prefix}{${topic}:0}:log`, '-', '+')).map(([, f]) => f[f.indexOf('v') + 1])

  it('maxInFlight 2: two appends whose replies were lost, resent after a reconnect, land once each, in order', async () => {
    const proxy = await replyDroppingProxy(Number(new URL(REDIS_URL).port || 6379))
    const client = createClient({ backend: redis({ url: proxy.url, keyPrefix: prefix }) })
    try {
      const topic = defineTopic(uniqueTopic('inflight2'), {
        key: serdes.string(),
        value: serdes.string(),
        partitions: 1,
      })
      await client.admin().ensureTopics([topic])
      const producer = client.producer({ maxInFlight: 2 })
      await producer.send(topic, { key: 'k', value: 'warm' })
      proxy.dropReplies = true
      const one = producer.send(topic, { key: 'k', value: 'one' })
      await new Promise((r) => setTimeout(r, 20))
      const two = producer.send(topic, { key: 'k', value: 'two' })
      await new Promise((r) => setTimeout(r, 300))
      proxy.dropReplies = false
      proxy.cut()
      const [a, b] = await Promise.all([one, two])
      expect(await values(prefix, topic.name)).toEqual(['warm', 'one', 'two'])
      const entries = await conn.xrange(`${prefix}{${topic.name}:0}:log`, '-', '+')
      expect([a.offset, b.offset]).toEqual([entries[1]![0], entries[2]![0]])
    } finally {
      await client.close()
      await proxy.close()
    }
  }, 20_000)

  it('maxInFlight 1: a send that timed out unanswered and the next one, resent after a reconnect, land once each, in order', async () => {
    const proxy = await replyDroppingProxy(Number(new URL(REDIS_URL).port || 6379))
    const client = createClient({ backend: redis({ url: proxy.url, keyPrefix: prefix, sendTimeoutMs: 500 }) })
    try {
      const topic = defineTopic(uniqueTopic('timedout'), {
        key: serdes.string(),
        value: serdes.string(),
        partitions: 1,
      })
      await client.admin().ensureTopics([topic])
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 'warm' })
      proxy.dropReplies = true
      const one = await producer.send(topic, { key: 'k', value: 'one' }).catch((e: unknown) => e)
      expect(isKeyedError(one, 'TIMEOUT')).toBe(true)
      const two = producer.send(topic, { key: 'k', value: 'two' })
      await new Promise((r) => setTimeout(r, 200))
      proxy.dropReplies = false
      proxy.cut()
      await two.catch(() => undefined) // it may time out as well; what matters is the stream
      expect(await values(prefix, topic.name)).toEqual(['warm', 'one', 'two'])
    } finally {
      await client.close()
      await proxy.close()
    }
  }, 20_000)
})
