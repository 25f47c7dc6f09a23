import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { SendAbortedError, type ProducerSettings, type RecordMetadata, type TopicSpec } from '@keyed/sdk/backend'
import { Keys } from '../src/keys.js'
import { backendFactory, cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

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
})
