import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { SendAbortedError, type ProducerSettings, type RecordMetadata, type TopicSpec } from '@keyed/sdk/backend'
import { Keys } from '../src/keys.js'
import { redis } from '../src/index.js'
import { backendFactory, cleanup, privateServer, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

const prefix = runPrefix()
const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
const keys = new Keys(prefix)
const backend = backendFactory(prefix)()

afterAll(async () => {
  await backend.close()
  await cleanup(prefix)
  conn.disconnect()
})

const records = (topic: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    topic,
    partition: (from + i) % 2,
    key: Buffer.from(`k${from + i}`),
    value: Buffer.from(String(from + i)),
    headers: {},
    timestamp: 1,
  }))

const spec = (name: string): TopicSpec => ({
  name,
  partitions: 2,
  cleanupPolicy: 'delete',
  config: {},
  retentionMs: undefined,
  retentionBytes: undefined,
  deleteRetentionMs: undefined,
  minCompactionLagMs: undefined,
})
const strict: ProducerSettings = {
  idempotent: true,
  acks: 'all',
  maxInFlight: 1,
  retries: 5,
  compression: 'none',
  clientId: undefined,
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const lengths = (topic: string) => Promise.all([0, 1].map((p) => conn.xlen(keys.stream(topic, p))))

/** A request in flight that the test settles. */
function held() {
  let succeed!: () => void
  let fail!: (error: Error) => void
  const promise = new Promise<RecordMetadata[]>((resolve, reject) => {
    succeed = () => resolve([])
    fail = reject
  })
  return { promise, succeed, fail }
}

describe('sendAfter: a request staged behind the one in flight', () => {
  it('writes nothing until the request before it succeeded, then appends in order', async () => {
    const topic = uniqueTopic('after-ok')
    await backend.createTopic(spec(topic))
    const producer = backend.producer(strict)
    const previous = held()
    const staged = producer.sendAfter!(records(topic, 0, 6), previous.promise)
    await sleep(100)
    expect(await lengths(topic)).toEqual([0, 0])
    previous.succeed()
    const metadata = await staged
    expect(metadata.map((m) => m.partition)).toEqual([0, 1, 0, 1, 0, 1])
    expect(await lengths(topic)).toEqual([3, 3])
    const entries = await conn.xrange(keys.stream(topic, 0), '-', '+')
    expect(entries.map(([id]) => id)).toEqual(metadata.filter((m) => m.partition === 0).map((m) => m.offset))
    await producer.close()
  })

  it('rejects with SendAbortedError and writes nothing when the request before it failed', async () => {
    const topic = uniqueTopic('after-failed')
    await backend.createTopic(spec(topic))
    const producer = backend.producer(strict)
    const previous = held()
    const staged = producer.sendAfter!(records(topic, 0, 6), previous.promise)
    previous.fail(new Error('the request before it failed'))
    const error = await staged.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SendAbortedError)
    expect((error as Error).message).toMatch(/the request before it failed/)
    await sleep(100)
    expect(await lengths(topic)).toEqual([0, 0])
    // The producer goes on.
    await producer.send(records(topic, 6, 2))
    expect(await lengths(topic)).toEqual([1, 1])
    await producer.close()
  })

  // Behind this producer's own send, the staged request is written the moment that send's replies are in (before
  // the SDK answers its callers): the rules must hold on that path too.
  it("behind the producer's own send: appended after that send's records, in order", async () => {
    const topic = uniqueTopic('after-own')
    await backend.createTopic(spec(topic))
    const producer = backend.producer(strict)
    const first = producer.send(records(topic, 0, 6))
    const staged = producer.sendAfter!(records(topic, 6, 6), first)
    const [a, b] = await Promise.all([first, staged])
    for (const p of [0, 1]) {
      const entries = await conn.xrange(keys.stream(topic, p), '-', '+')
      const expected = [...a, ...b].filter((m) => m.partition === p).map((m) => m.offset)
      expect(entries.map(([id]) => id)).toEqual(expected)
      expect(entries.map(([, fields]) => fields[fields.indexOf('v') + 1])).toEqual(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].filter((n) => n % 2 === p).map(String),
      )
    }
    await producer.close()
  })

  it("behind the producer's own send refused by the server: rejects with SendAbortedError, writes nothing", async () => {
    const topic = uniqueTopic('after-own-refused')
    await backend.createTopic(spec(topic))
    await conn.set(keys.stream(topic, 0), 'not a stream') // WRONGTYPE for partition 0's append
    const producer = backend.producer(strict)
    const first = producer.send(records(topic, 0, 2))
    const staged = producer.sendAfter!(records(topic, 2, 2), first)
    expect(await first.catch((e: unknown) => e)).toMatchObject({ code: expect.any(String) })
    const error = await staged.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SendAbortedError)
    await sleep(100)
    // Partition 1 holds the failed send's record only (its own script succeeded); the staged one wrote nothing.
    expect(await conn.xlen(keys.stream(topic, 1))).toBe(1)
    await producer.close()
  })

  it("behind the producer's own send that timed out: writes nothing, even when the server answers it later", async () => {
    const server = await privateServer()
    const own = redis({ url: server.url, keyPrefix: prefix, sendTimeoutMs: 400 })
    const direct = new Redis(server.url, { maxRetriesPerRequest: 1 })
    try {
      const topic = uniqueTopic('after-own-late')
      await own.createTopic(spec(topic))
      const producer = own.producer(strict)
      await producer.send(records(topic, 0, 2)) // metadata and connection known: later sends are written at once
      server.signal('SIGSTOP')
      const first = producer.send(records(topic, 2, 2))
      const staged = producer.sendAfter!(records(topic, 4, 2), first)
      expect(await first.catch((e: unknown) => e)).toMatchObject({ code: 'TIMEOUT' })
      expect(await staged.catch((e: unknown) => e)).toBeInstanceOf(SendAbortedError)
      server.signal('SIGCONT') // the server now runs the timed-out send, and answers it
      await sleep(300)
      const appended = await Promise.all([0, 1].map((p) => direct.xlen(keys.stream(topic, p))))
      expect(appended).toEqual([2, 2]) // the first two sends' records; none of the staged one's
      await producer.close()
    } finally {
      direct.disconnect()
      await own.close()
      await server.stop()
    }
  })
})
