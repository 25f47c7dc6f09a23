import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import type { Backend, BackendReader, IncomingRecord, PartitionReaderOptions } from '../src/backend/index.js'
import {
  BackendUnavailableError,
  ClosedError,
  ConfigError,
  createClient,
  defineTopic,
  serdes,
  TimeoutError,
  type Client,
  type StandardSchemaV1,
} from '../src/index.js'

const utf8 = (s: string) => Buffer.from(s, 'utf8')

/** A backend whose reader hands out the given records of partition 0, then whatever `push` adds. */
function fakeBackend(
  records: Array<{ key: Uint8Array | null; value: Uint8Array | null }>,
  options: { hangOnClose?: boolean; endOffsets?: () => Promise<never> } = {},
) {
  let reader: PartitionReaderOptions | undefined
  let offset = 0
  const record = (r: { key: Uint8Array | null; value: Uint8Array | null }): IncomingRecord => ({
    topic: 't',
    partition: 0,
    offset: String(offset++),
    ...r,
    headers: {},
    timestamp: 0,
  })
  const backend: Backend & { push(r: { key: Uint8Array | null; value: Uint8Array | null }): Promise<void> } = {
    name: 'fake',
    capabilities: { compaction: true, timeRetention: true } as Backend['capabilities'],
    async describeTopic(name) {
      return { name, partitions: 1, cleanupPolicy: 'compact' }
    },
    async createTopic() {},
    producer: () => ({ send: async () => [], close: async () => {} }),
    consumer: () => {
      throw new Error('not used')
    },
    endOffsets: options.endOffsets ?? (async () => [{ partition: 0, offset: String(records.length) }]),
    reader(o): BackendReader {
      reader = o
      return {
        async start() {
          void o.onBatch({ topic: o.topic, partition: 0, records: records.map(record), caughtUp: true })
        },
        close: () => (options.hangOnClose ? new Promise<void>(() => {}) : Promise.resolve()),
      }
    },
    async push(r) {
      await reader!.onBatch({ topic: 't', partition: 0, records: [record(r)], caughtUp: true })
    },
    async close() {},
  }
  return backend
}

const settings = defineTopic('t', { key: z.string(), value: z.object({ theme: z.string() }), cleanupPolicy: 'compact' })
const orders = defineTopic('t', { key: z.string(), value: z.object({ amount: z.number() }) })

function typeChecks(client: Client) {
  const table = client.table(settings)
  expectTypeOf(table.get('u1')).toEqualTypeOf<{ theme: string } | undefined>()
  table.subscribe((c) => {
    expectTypeOf(c.key).toEqualTypeOf<string>()
    expectTypeOf(c.value).toEqualTypeOf<{ theme: string } | null>()
    expectTypeOf(c.previous).toEqualTypeOf<{ theme: string } | null>()
  })
  for (const [key, value] of table) {
    expectTypeOf(key).toEqualTypeOf<string>()
    expectTypeOf(value).toEqualTypeOf<{ theme: string }>()
  }
  // @ts-expect-error a table needs a compacted topic
  client.table(orders)
  // @ts-expect-error keys are the topic's key type
  table.get(42)
}

describe('client.table', () => {
  it('is a compile-time error on uncompacted topics and a ConfigError at run time', () => {
    expect(typeChecks).toBeTypeOf('function')
    const client = createClient({ backend: fakeBackend([]) })
    expect(() => client.table(orders as never)).toThrow(ConfigError)
    expect(() => client.table(orders as never)).toThrow(/cleanupPolicy: 'compact'/)
    const { reader: _r, endOffsets: _e, ...plain } = fakeBackend([])
    expect(() => createClient({ backend: plain }).table(settings)).toThrow(/cannot serve tables/)
  })

  it('finds keys by their bytes, whatever the key serde', async () => {
    const topic = defineTopic('t', { key: serdes.bytes(), value: serdes.json<number>(), cleanupPolicy: 'compact' })
    const table = createClient({
      backend: fakeBackend([
        { key: new Uint8Array([0, 255]), value: utf8('1') },
        { key: new Uint8Array([0, 255]), value: utf8('2') },
      ]),
    }).table(topic)
    await table.ready()
    expect(table.get(new Uint8Array([0, 255]))).toBe(2)
    expect([...table.keys()].map((k) => [...k])).toEqual([[0, 255]])
  })

  it('applies records in order when the schema validates asynchronously', async () => {
    const slow: StandardSchemaV1<number> = {
      '~standard': {
        version: 1,
        vendor: 't',
        validate: async (v) => (await new Promise((r) => setTimeout(r, Number(v) % 3)), { value: v as number }),
      },
    }
    const topic = defineTopic('t', { value: slow, cleanupPolicy: 'compact' })
    const backend = fakeBackend(Array.from({ length: 20 }, (_, i) => ({ key: utf8('k'), value: utf8(String(i)) })))
    const table = createClient({ backend }).table(topic)
    await table.ready()
    expect(table.get('k')).toBe(19)
    const seen: Array<number | null> = []
    table.subscribe((c) => void seen.push(c.value))
    for (const v of ['20', '21']) await backend.push({ key: utf8('k'), value: utf8(v) })
    await backend.push({ key: utf8('k'), value: null })
    expect(seen).toEqual([20, 21, null])
  })

  it('keeps applying when a listener throws', async () => {
    const backend = fakeBackend([])
    const table = createClient({ backend }).table(settings)
    await table.ready()
    const quiet = console.error
    console.error = () => {}
    try {
      table.subscribe(() => {
        throw new Error('listener bug')
      })
      await backend.push({ key: utf8('u'), value: utf8('{"theme":"dark"}') })
    } finally {
      console.error = quiet
    }
    expect(table.get('u')).toEqual({ theme: 'dark' })
  })

  it('fails ready() and reads with the error that stopped loading', async () => {
    const down = new BackendUnavailableError('fake', 'no server')
    const table = createClient({ backend: fakeBackend([], { endOffsets: () => Promise.reject(down) }) }).table(settings)
    await expect(table.ready()).rejects.toBe(down)
    expect(() => table.get('u')).toThrow(down)
  })

  it('rejects ready() with ClosedError when closed while loading, and reads fail the same way', async () => {
    let release!: () => void
    const slow = fakeBackend([], {
      endOffsets: () => new Promise<never>((_, reject) => (release = () => reject(new Error('late')))),
    })
    const table = createClient({ backend: slow }).table(settings)
    await new Promise((r) => setTimeout(r, 10))
    const closing = table.close()
    await expect(table.ready()).rejects.toBeInstanceOf(ClosedError)
    release()
    await closing
    expect(() => table.get('u')).toThrow(ClosedError)
  })

  it('bounds close() by closeTimeoutMs when the reader does not stop', async () => {
    const table = createClient({ backend: fakeBackend([], { hangOnClose: true }) }).table(settings, {
      closeTimeoutMs: 50,
    })
    await table.ready()
    const started = Date.now()
    await expect(table.close()).rejects.toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})
