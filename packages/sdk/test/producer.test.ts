import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  ConfigError,
  createClient,
  defineTopic,
  isTopic,
  MissingKeyError,
  PartitionerError,
  partitionFor,
  ReorderingProducerError,
  SchemaError,
  SerdeError,
  serdes,
} from '../src/index.js'
import { recordingBackend } from './recording-backend.js'

const orders = defineTopic('orders', {
  key: z.string(),
  value: z.object({ amount: z.number().positive() }),
  partitions: 12,
})
const clicks = defineTopic('clicks', { value: z.object({ page: z.string() }), ordering: 'none', partitions: 4 })
const settings = defineTopic('settings', {
  value: z.object({ theme: z.string() }),
  cleanupPolicy: 'compact',
  partitions: 3,
})

function setup() {
  const backend = recordingBackend()
  return { backend, client: createClient({ backend }) }
}

describe('producer', () => {
  it('partitions keyed records by murmur2 and returns their metadata in order', async () => {
    const { client, backend } = setup()
    const keys = ['customer-1', 'customer-2', 'klíč-日本']
    const meta = await client.producer().send(
      orders,
      keys.map((key) => ({ key, value: { amount: 1 } })),
    )
    expect(meta.map((m) => m.partition)).toEqual(keys.map((k) => partitionFor(k, 12)))
    expect(backend.sent[0]!.map((r) => Buffer.from(r.key!).toString())).toEqual(keys)
  })

  it('names the record, field and schema message of an invalid record and sends nothing', async () => {
    const { client, backend } = setup()
    const error = await client
      .producer()
      .send(orders, [
        { key: 'a', value: { amount: 1 } },
        { key: 'b', value: { amount: -5 } },
      ])
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SchemaError)
    expect(error).toMatchObject({ code: 'SCHEMA', index: 1, field: 'value', topic: 'orders' })
    expect((error as Error).message).toMatch(/record 1 of the batch.*value\.amount/)
    expect(backend.sent).toHaveLength(0)
  })

  it('validates with asynchronous Standard Schemas too (valibot)', async () => {
    const { client, backend } = setup()
    const checked = defineTopic('checked', {
      value: v.pipeAsync(
        v.object({ n: v.number() }),
        v.checkAsync(async (x) => x.n < 10, 'n must be below 10'),
      ),
    })
    await client.producer().send(checked, { key: 'k', value: { n: 1 } })
    await expect(client.producer().send(checked, { key: 'k', value: { n: 11 } })).rejects.toThrow(/n must be below 10/)
    expect(backend.sent).toHaveLength(1)
  })

  it('refuses a missing or null key on ordered and compacted topics at runtime', async () => {
    const { client } = setup()
    const js = client.producer() as unknown as { send(t: unknown, r: unknown): Promise<unknown> }
    await expect(js.send(orders, { value: { amount: 1 } })).rejects.toBeInstanceOf(MissingKeyError)
    await expect(js.send(settings, { key: null, value: { theme: 'x' } })).rejects.toThrow(/compacted.*needs a key/)
    await expect(js.send(clicks, { value: { page: '/' } })).resolves.toBeDefined()
  })

  it('allows null values only as tombstones on compacted topics', async () => {
    const { client, backend } = setup()
    const producer = client.producer()
    await producer.tombstone(settings, 'user-1')
    expect(backend.sent[0]![0]!.value).toBeNull()
    const js = producer as unknown as {
      send(t: unknown, r: unknown): Promise<unknown>
      tombstone(t: unknown, k: string): Promise<unknown>
    }
    await expect(js.send(orders, { key: 'k', value: null })).rejects.toThrow(/not compacted/)
    await expect(js.tombstone(orders, 'k')).rejects.toBeInstanceOf(ConfigError)
  })

  it('keeps the order of concurrent sends with one request in flight', async () => {
    const { client, backend } = setup()
    const producer = client.producer({ ordering: 'strict' })
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => producer.send(orders, { key: 'same', value: { amount: i + 1 } })),
    )
    expect(backend.sent.flat().map((r) => JSON.parse(Buffer.from(r.value!).toString()).amount)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
  })

  it('refuses settings that can reorder a key on per-key topics, and says why', async () => {
    const { client } = setup()
    const loose = client.producer({ idempotent: false, maxInFlight: 5, retries: 3, acks: 'leader' })
    const error = await loose.send(orders, { key: 'k', value: { amount: 1 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReorderingProducerError)
    expect((error as Error).message).toMatch(/retries=3.*5 requests in flight/)
    await expect(loose.send(clicks, { value: { page: '/' } })).resolves.toBeDefined()
  })

  it('rejects contradictory ordering settings at creation', () => {
    const { client } = setup()
    expect(() => client.producer({ ordering: 'strict', maxInFlight: 5 })).toThrow(/strict.*maxInFlight: 5/)
    expect(() => client.producer({ idempotent: true, acks: 'leader' })).toThrow(ConfigError)
    expect(() => client.producer({ idempotent: true, maxInFlight: 6 })).toThrow(/at most 5/)
    expect(() => client.producer({ maxInFlight: 0 })).toThrow(/maxInFlight/)
  })

  it('checks custom partitioners and explicit partitions against the partition count', async () => {
    const { client } = setup()
    await expect(
      client.producer({ partitioner: () => 12 }).send(orders, { key: 'k', value: { amount: 1 } }),
    ).rejects.toThrow(/partition 12.*0 to 11/)
    await expect(client.producer().send(orders, { key: 'k', value: { amount: 1 }, partition: -1 })).rejects.toThrow(
      /partition -1/,
    )
    const meta = await client.producer({ partitioner: ({ key }) => (key === 'vip' ? 0 : 1) }).send(orders, [
      { key: 'vip', value: { amount: 1 } },
      { key: 'x', value: { amount: 1 } },
    ])
    expect(meta.map((m) => m.partition)).toEqual([0, 1])
  })

  it('explains a key the serde cannot encode', async () => {
    const { client } = setup()
    const numeric = defineTopic('numeric', { key: z.number() })
    const error = await client
      .producer()
      .send(numeric, { key: 42, value: 1 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SerdeError)
    expect((error as Error).message).toMatch(/serdes\.json\(\)/)
    const jsonKeys = defineTopic('json-keys', { key: z.number(), keySerde: serdes.json<number>() })
    await expect(client.producer().send(jsonKeys, { key: 42, value: 1 })).resolves.toMatchObject({ partition: 0 })
  })
})

describe('consumer options', () => {
  it('are checked when the consumer is made, not when it first joins', () => {
    const { client } = setup()
    expect(() => client.consumer({ groupId: '' })).toThrow(/needs a groupId/)
    expect(() => client.consumer({ groupId: 'g', sessionTimeoutMs: 0 })).toThrow(
      /sessionTimeoutMs must be an integer >= 1/,
    )
    expect(() => client.consumer({ groupId: 'g', retry: { attempts: 0 } })).toThrow(/retry.attempts/)
  })
})

describe('defineTopic', () => {
  it('rejects bad declarations with a way to mend them', () => {
    expect(() => defineTopic('bad name!')).toThrow(/a-z, A-Z, 0-9/)
    for (const name of ['.', '..', '', 'x'.repeat(250)])
      expect(() => defineTopic(name)).toThrow(/other than '\.' and '\.\.'/)
    expect(defineTopic('x'.repeat(249)).name).toHaveLength(249)
    expect(defineTopic('...').name).toBe('...')
    expect(() => defineTopic('t', { partitions: 0 })).toThrow(/partitions must be an integer >= 1/)
    expect(() => defineTopic('t', { ordering: 'global' as 'none' })).toThrow(/'per-key' or 'none'/)
    expect(() => defineTopic('t', { cleanupPolicy: 'compacted' as 'compact' })).toThrow(/'delete', 'compact'/)
    expect(() => defineTopic('t', { value: {} as never })).toThrow(/Standard Schema/)
  })

  it('creates missing topics as declared', async () => {
    const { client, backend } = setup()
    await client.admin().ensureTopics([settings])
    expect(backend.specs[0]).toMatchObject({ name: 'settings', partitions: 3, cleanupPolicy: 'compact' })
  })
})

describe('bad input at the send boundary', () => {
  type Loose = { send(t: unknown, r: unknown): Promise<unknown> }
  const loose = () => setup().client.producer() as unknown as Loose
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    )

  it('refuses headers that are not an object of strings, naming the record', async () => {
    const { client, backend } = setup()
    const producer = client.producer() as unknown as Loose
    for (const headers of ['a=b', ['a', 'b'], 42]) {
      const error = await failure(
        producer.send(orders, [
          { key: 'a', value: { amount: 1 } },
          { key: 'b', value: { amount: 1 }, headers },
        ]),
      )
      expect(error).toBeInstanceOf(SchemaError)
      expect(error).toMatchObject({ code: 'SCHEMA', field: 'headers', index: 1, retriable: false })
      expect((error as Error).message).toMatch(/record 1 of the batch.*headers are an object of string values/)
    }
    expect(backend.sent).toHaveLength(0)
  })

  it('refuses a timestamp that is not a non-negative integer, and says it is the timestamp', async () => {
    for (const timestamp of [1.5, Number.NaN, -1, Infinity, '1700000000000']) {
      const error = await failure(loose().send(orders, { key: 'a', value: { amount: 1 }, timestamp }))
      expect(error).toBeInstanceOf(SchemaError)
      expect(error).toMatchObject({ field: 'timestamp' })
      expect((error as Error).message).toMatch(
        /^Invalid timestamp for topic 'orders': timestamp: must be a non-negative integer of milliseconds/,
      )
    }
    await expect(loose().send(orders, { key: 'a', value: { amount: 1 }, timestamp: 0 })).resolves.toMatchObject({
      timestamp: 0,
    })
  })

  it('says a non-object record is not a record', async () => {
    const error = await failure(loose().send(orders, [{ key: 'a', value: { amount: 1 } }, 'oops']))
    expect(error).toMatchObject({ code: 'SCHEMA', field: 'record', index: 1 })
    expect((error as Error).message).toMatch(/a string is not a record/)
    expect((error as Error).message).not.toMatch(/Invalid value/)
  })

  it('wraps a partitioner that throws in a PartitionerError with the cause', async () => {
    const { client, backend } = setup()
    const cause = new Error('no route for this key')
    const producer = client.producer({
      partitioner: () => {
        throw cause
      },
    })
    const error = await failure(producer.send(orders, { key: 'k', value: { amount: 1 } }))
    expect(error).toBeInstanceOf(PartitionerError)
    expect(error).toMatchObject({ code: 'PARTITIONER', cause })
    expect((error as Error).message).toMatch(/custom partitioner threw.*no route for this key/)
    expect(backend.sent).toHaveLength(0)
  })

  it('refuses a forged or edited topic object with a typed error, and sends nothing', async () => {
    const { client, backend } = setup()
    const forged = { ...orders, name: 'x}:log\n{evil' }
    expect(isTopic(forged)).toBe(false)
    expect(isTopic(Object.freeze({ ...orders, name: 'x}:log\n{evil' }))).toBe(false)
    expect(isTopic(Object.freeze({ ...orders, partitions: 0 }))).toBe(false)
    expect(isTopic(orders)).toBe(true)
    const producer = client.producer() as unknown as Loose
    const error = await failure(producer.send(forged, { key: 'k', value: { amount: 1 } }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(/send\(\) takes a topic from defineTopic\(\)/)
    const named = await failure(
      producer.send(Object.freeze({ ...orders, name: 'x}:log\n{evil' }), { key: 'k', value: 1 }),
    )
    // The forged name is shown escaped, so it cannot start a new log line.
    expect((named as Error).message).toContain('"x}:log\\n{evil" is not valid')
    await expect(client.consumer({ groupId: 'g' }).subscribe(forged as typeof orders, () => {})).rejects.toBeInstanceOf(
      ConfigError,
    )
    await expect(client.admin().ensureTopics([forged as typeof orders])).rejects.toBeInstanceOf(ConfigError)
    expect(backend.sent).toHaveLength(0)
    expect(backend.specs).toHaveLength(0)
  })
})
