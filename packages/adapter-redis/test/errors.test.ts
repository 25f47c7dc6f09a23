import { Redis, ReplyError } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type Client, type KeyedError } from '@keyed/sdk'
import type { Backend, PartitionBatch } from '@keyed/sdk/backend'
import { waitFor } from '@keyed/sdk/testing'
import { Keys } from '../src/keys.js'
import { redis } from '../src/index.js'
import { cleanup, privateServer, REDIS_URL, runPrefix, uniqueTopic, type PrivateServer } from './helpers.js'
import { errorTexts } from './secrets.js'

const prefix = runPrefix()
const clients: Client[] = []
const servers: PrivateServer[] = []
const client = (url = REDIS_URL, sendTimeoutMs = 5000) => {
  const c = createClient({ backend: redis({ url, keyPrefix: prefix, blockMs: 200, sendTimeoutMs }) })
  clients.push(c)
  return c
}
const server = async (extra: string[] = []) => {
  const s = await privateServer(extra)
  servers.push(s)
  return s
}
const admin = (url: string) => new Redis(url, { maxRetriesPerRequest: 1 })
const fast = { sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 }

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await cleanup(prefix)
  for (const s of servers) s.signal('SIGCONT')
  await Promise.all(servers.map((s) => s.stop()))
})

/** A keyed error of the code, retriable or not, whose cause chain holds no ioredis error (they carry command.args). */
function expectTranslated(error: unknown, code: KeyedError['code'], retriable: boolean): asserts error is KeyedError {
  expect(isKeyedError(error, code), String(error)).toBe(true)
  expect((error as KeyedError).retriable).toBe(retriable)
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    expect(e).not.toHaveProperty('command')
    expect(e).not.toBeInstanceOf(ReplyError)
  }
  expect(errorTexts(error).join('\n')).not.toMatch(/\bargs\b/)
}

const spec = (name: string) => ({
  name,
  partitions: 1,
  cleanupPolicy: 'delete' as const,
  retentionMs: undefined,
  retentionBytes: undefined,
  deleteRetentionMs: undefined,
  minCompactionLagMs: undefined,
  config: {},
})
const record = (topic: string) => ({
  topic,
  partition: 0,
  key: Buffer.from('k'),
  value: Buffer.from('"v"'),
  headers: {},
  timestamp: Date.now(),
})
const settings = { idempotent: true, acks: 'all' as const, maxInFlight: 1, retries: 0, clientId: undefined }

/** A member of the backend that keeps each batch it gets, for commit tests. */
async function member(backend: Backend, topic: string) {
  const batches: PartitionBatch[] = []
  const m = backend.consumer({
    groupId: 'g',
    clientId: undefined,
    subscriptions: [{ topic, fromBeginning: true }],
    ...fast,
    maxBatchSize: 10,
    onBatch: async (b) => void batches.push(b),
  })
  await m.start()
  await waitFor('a batch', 5000, () => batches.length > 0)
  return { m, batch: batches[0]! }
}

describe('redis errors are keyed errors that say what to change', () => {
  it('refuses a send to a key another application overwrote with BackendRefusedError naming keyPrefix', async () => {
    const name = uniqueTopic('wrongtype')
    const topic = defineTopic(name, { partitions: 1 })
    const c = client()
    await c.admin().ensureTopics([topic])
    const raw = admin(REDIS_URL)
    await raw.set(new Keys(prefix).stream(name, 0), 'not a stream')
    raw.disconnect()
    const error = await c
      .producer()
      .send(topic, { key: 'k', value: 1 })
      .catch((e: unknown) => e)
    expectTranslated(error, 'BACKEND_REFUSED', false)
    expect(error).toMatchObject({ setting: 'keyPrefix' })
    expect(error.message).toMatch(/WRONGTYPE.*keyPrefix/s)
  })

  it('says so when a send spread over partitions failed on one of them: the others were appended', async () => {
    const name = uniqueTopic('partial')
    const topic = defineTopic(name, { partitions: 3 })
    const c = client()
    await c.admin().ensureTopics([topic])
    const raw = admin(REDIS_URL)
    const keys = new Keys(prefix)
    await raw.set(keys.stream(name, 1), 'not a stream')
    const records = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i }))
    const error = await c
      .producer()
      .send(topic, records)
      .catch((e: unknown) => e)
    expectTranslated(error, 'BACKEND_REFUSED', false)
    expect(error.message).toMatch(/append 30 record\(s\) over 3 partitions .*some may be in the log/s)
    // What the error warns of: the partitions that did not fail hold their records.
    expect((await raw.xlen(keys.stream(name, 0))) + (await raw.xlen(keys.stream(name, 2)))).toBeGreaterThan(0)
    raw.disconnect()
  })

  it('stops the consumer through onError when a partition it reads turns into another type of key', async () => {
    const name = uniqueTopic('wrongtype-read')
    const topic = defineTopic(name, { partitions: 1 })
    const c = client()
    const errors: KeyedError[] = []
    const consumer = c.consumer({ groupId: 'g', onError: (e) => void errors.push(e), ...fast })
    await consumer.subscribe(topic, () => undefined, { fromBeginning: true })
    const raw = admin(REDIS_URL)
    await raw.set(new Keys(prefix).stream(name, 0), 'not a stream')
    raw.disconnect()
    await waitFor('onError', 10_000, () => errors.length > 0)
    expectTranslated(errors[0], 'BACKEND_REFUSED', false)
    expect(errors[0]!.message).toMatch(/read partition 0 of .*WRONGTYPE/s)
    await expect(consumer.stopped()).rejects.toBe(errors[0])
  })

  it('stops the consumer through onError when the member set of its group turns into another type of key', async () => {
    const name = uniqueTopic('wrongtype-members')
    const topic = defineTopic(name, { partitions: 1 })
    const errors: KeyedError[] = []
    const consumer = client().consumer({ groupId: 'members', onError: (e) => void errors.push(e), ...fast })
    await consumer.subscribe(topic, () => undefined, { fromBeginning: true })
    const raw = admin(REDIS_URL)
    await raw.set(new Keys(prefix).members('members', name), 'not a sorted set')
    raw.disconnect()
    await waitFor('onError', 10_000, () => errors.length > 0)
    expectTranslated(errors[0], 'BACKEND_REFUSED', false)
    expect(errors[0]!.message).toMatch(/heartbeat in group 'members'.*WRONGTYPE/s)
    await expect(consumer.stopped()).rejects.toBe(errors[0])
  })

  it('refuses sends on a server at its maxmemory with BackendRefusedError naming maxmemory, and still takes commits', async () => {
    const s = await server()
    const backend = redis({ url: s.url, sendTimeoutMs: 5000, blockMs: 200 })
    try {
      const name = uniqueTopic('oom')
      await backend.createTopic(spec(name))
      const producer = backend.producer(settings)
      await producer.send([record(name)])
      const { m, batch } = await member(backend, name)
      const raw = admin(s.url)
      await raw.config('SET', 'maxmemory', '1')
      raw.disconnect()
      const sendError = await producer.send([record(name)]).catch((e: unknown) => e)
      expectTranslated(sendError, 'BACKEND_REFUSED', false)
      expect(sendError).toMatchObject({ setting: 'maxmemory' })
      expect(sendError.message).toMatch(/OOM/)
      // Acknowledging frees memory, so Redis still takes it: consumers go on committing.
      await m.commit([{ topic: name, partition: 0, offset: batch.records[0]!.offset }])
      await m.close()
    } finally {
      await backend.close()
    }
  })

  it('refuses a send to a read-only replica with BackendRefusedError naming url', async () => {
    const [primary, replica] = [await server(), await server()]
    const raw = admin(replica.url)
    await raw.replicaof('127.0.0.1', String(primary.port))
    raw.disconnect()
    const c = client(replica.url)
    const error = await c
      .admin()
      .ensureTopics([defineTopic(uniqueTopic('readonly'), { partitions: 1 })])
      .catch((e: unknown) => e)
    expectTranslated(error, 'BACKEND_REFUSED', false)
    expect(error).toMatchObject({ setting: 'url' })
    expect(error.message).toMatch(/read-only replica/)
  })

  it('fails a send and a commit with a retriable TimeoutError after sendTimeoutMs while the server is frozen', async () => {
    const s = await server()
    const backend = redis({ url: s.url, sendTimeoutMs: 800, blockMs: 200 })
    try {
      const name = uniqueTopic('frozen')
      await backend.createTopic(spec(name))
      const producer = backend.producer(settings)
      await producer.send([record(name)])
      const { m, batch } = await member(backend, name)
      s.signal('SIGSTOP')
      const started = Date.now()
      const [sendError, commitError] = await Promise.all([
        producer.send([record(name)]).catch((e: unknown) => e),
        m.commit([{ topic: name, partition: 0, offset: batch.records[0]!.offset }]).catch((e: unknown) => e),
      ])
      expect(Date.now() - started).toBeLessThan(2500)
      expectTranslated(sendError, 'TIMEOUT', true)
      expect(sendError.message).toMatch(/did not finish within 800 ms.*sendTimeoutMs/s)
      expectTranslated(commitError, 'TIMEOUT', true)
      await m.close()
    } finally {
      s.signal('SIGCONT')
      await backend.close()
    }
  })
})
