import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createClient,
  DEAD_LETTER_HEADERS,
  defineTopic,
  BackendUnavailableError,
  isKeyedError,
  MissingKeyError,
  SchemaError,
  SerdeError,
  type KeyedError,
} from '../src/index.js'
import { raw, scriptedBackend } from './scripted-backend.js'

const json = (v: unknown) => Buffer.from(JSON.stringify(v))
const settings = defineTopic('t', { value: z.object({ theme: z.string() }), cleanupPolicy: 'compact' })
const orders = defineTopic('t', { value: z.object({ amount: z.number() }) })

/** Consumes the records with a dead-letter topic until every one was handled or dead-lettered. */
async function deadLettering(topic: typeof settings | typeof orders, records: ReturnType<typeof raw>[]) {
  const backend = scriptedBackend(records)
  const client = createClient({ backend })
  const handled: unknown[] = []
  await client.consumer({ groupId: 'g', deadLetter: true }).subscribe(topic, (m) => void handled.push(m.value))
  await client.close()
  return { handled, dead: backend.sent, commits: backend.commits }
}

async function stopping(
  topic: typeof settings | typeof orders,
  records: ReturnType<typeof raw>[],
): Promise<KeyedError> {
  const client = createClient({ backend: scriptedBackend(records) })
  const consumer = client.consumer({ groupId: 'g', onError: () => {} })
  const stopped = consumer.stopped().then(
    () => undefined,
    (e: unknown) => e as KeyedError,
  )
  await consumer.subscribe(topic, () => {})
  const error = await stopped
  await client.close()
  if (!error) throw new Error('the consumer did not stop')
  return error
}

describe('records a topic does not allow, as any client could write them', () => {
  it('dead-letters a keyless record of a compacted topic and hands its tombstones on', async () => {
    const { handled, dead, commits } = await deadLettering(settings, [
      raw({ offset: '0', key: null, value: json({ theme: 'x' }) }),
      raw({ offset: '1', value: null }),
      raw({ offset: '2', value: json({ theme: 'dark' }) }),
    ])
    expect(handled).toEqual([null, { theme: 'dark' }])
    expect(dead).toHaveLength(1)
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.stage]).toBe('validate')
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.error]).toMatch(
      /^The record at offset 0 of partition 0 of topic 't' has no key, but the topic is .*compacted/,
    )
    expect(commits.at(-1)?.offset).toBe('2')
  })

  it("cuts a handler's long error message to a bounded dead-letter header, saying how much was left out", async () => {
    const backend = scriptedBackend([raw({ offset: '0', value: json({ amount: 1 }) })])
    const client = createClient({ backend })
    await client.consumer({ groupId: 'g', deadLetter: true, retry: { attempts: 1 } }).subscribe(orders, () => {
      throw new Error('upstream said: ' + 'x'.repeat(200_000))
    })
    await client.close()
    const header = backend.sent[0]!.headers[DEAD_LETTER_HEADERS.error]!
    expect(header.length).toBeLessThan(1100)
    expect(header).toMatch(/^upstream said: x+… \(199015 more characters\)$/)
  })

  it("creates the dead-letter topic with the source's declared max.message.bytes, so large failures fit", async () => {
    const big = defineTopic('big', {
      value: z.object({ amount: z.number() }),
      config: { 'max.message.bytes': '20000000', 'segment.ms': '100' },
    })
    const backend = scriptedBackend([raw({ topic: 'big', offset: '0', value: json({ amount: 1 }) })])
    const client = createClient({ backend })
    await client.consumer({ groupId: 'g', deadLetter: true, retry: { attempts: 1 } }).subscribe(big, () => {
      throw new Error('too big to handle')
    })
    await client.close()
    expect(backend.sent.map((r) => r.topic)).toEqual(['big.dlq'])
    expect(backend.created.find((s) => s.name === 'big.dlq')?.config).toEqual({ 'max.message.bytes': '20000000' })
  })

  it('stops with a MissingKeyError that says the record was read, not sent', async () => {
    const error = await stopping(settings, [raw({ offset: '0', key: null })])
    expect(error).toBeInstanceOf(MissingKeyError)
    expect(error).toMatchObject({ code: 'MISSING_KEY', direction: 'receive', partition: 0, offset: '0' })
    expect(error.message).toMatch(/was not handed to the handler/)
  })

  it('reports a value that does not decode as "Cannot deserialize", with where it sits', async () => {
    const error = await stopping(orders, [raw({ offset: '7', value: Buffer.from('{not json') })])
    expect(error).toBeInstanceOf(SerdeError)
    expect(error).toMatchObject({ direction: 'deserialize', field: 'value', offset: '7' })
    expect(error.message).toMatch(
      /^Cannot deserialize value of the record at offset 7 of partition 0 of topic 't': the json serde failed/,
    )
  })

  it('reports an invalid value read from a topic without claiming a batch was not sent', async () => {
    const { dead } = await deadLettering(orders, [raw({ offset: '3', value: json({ amount: 'ten' }) })])
    const message = dead[0]!.headers[DEAD_LETTER_HEADERS.error]!
    expect(message).toMatch(/^Invalid value in the record at offset 3 of partition 0 of topic 't': value\.amount/)
    expect(message).not.toMatch(/sent/)
    const error = await stopping(orders, [raw({ offset: '3', value: json({ amount: 'ten' }) })])
    expect(error).toBeInstanceOf(SchemaError)
    expect(error).toMatchObject({ direction: 'receive', field: 'value' })
  })

  it('reports a timestamp that is not a number as an invalid timestamp, not an invalid value', async () => {
    const error = await stopping(orders, [raw({ offset: '0', value: json({ amount: 1 }), timestamp: Number.NaN })])
    expect(error).toMatchObject({ code: 'SCHEMA', field: 'timestamp', direction: 'receive' })
    expect(error.message).toMatch(/^Invalid timestamp in the record at offset 0/)
  })

  it('takes the deserialize path for a record the backend could not read, with the reason it gives', async () => {
    const broken = raw({
      offset: '5-0',
      value: json({ amount: 1 }),
      headers: {},
      decodeError: { field: 'headers', reason: "the 'h' field is not JSON" },
    })
    const { dead } = await deadLettering(orders, [broken, raw({ offset: '6-0', value: json({ amount: 2 }) })])
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.stage]).toBe('deserialize')
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.error]).toBe(
      "Cannot deserialize headers of the record at offset 5-0 of partition 0 of topic 't': the 'h' field is not JSON",
    )
    const error = await stopping(orders, [broken])
    expect(isKeyedError(error, 'SERDE')).toBe(true)
  })

  it('keeps the producer-side wording for records refused before sending', () => {
    expect(new SchemaError('t', 'value', [{ message: 'bad', path: [] }], 2).message).toBe(
      "Invalid value for topic 't' (record 2 of the batch): value: bad. Nothing of this batch was sent.",
    )
    expect(new SerdeError('t', 'key', 'boom', { index: 1 }).message).toBe(
      "Cannot serialize key for topic 't' (record 1 of the batch): boom",
    )
  })
})

describe('closing', () => {
  it('closes the rest of the client when a consumer close times out, then reports the timeout', async () => {
    const backend = scriptedBackend([raw({ offset: '0', value: json({ amount: 1 }) })])
    const client = createClient({ backend })
    const consumer = client.consumer({ groupId: 'g', closeTimeoutMs: 200 })
    let started = false
    await consumer.subscribe(orders, () => {
      started = true
      return new Promise<void>(() => {})
    })
    expect(started).toBe(true)
    const error = await client.close().catch((e: unknown) => e)
    expect(isKeyedError(error, 'TIMEOUT')).toBe(true)
    expect((error as KeyedError).retriable).toBe(false)
    expect((error as Error).message).toMatch(/t\[0\]@0/)
    expect(backend.closed).toBe(true)
    expect(backend.commits).toEqual([])
  })

  it('refuses a closeTimeoutMs that is not a positive integer', () => {
    const client = createClient({ backend: scriptedBackend([]) })
    expect(() => client.consumer({ groupId: 'g', closeTimeoutMs: 0 })).toThrow(/closeTimeoutMs must be an integer >= 1/)
  })

  it('refuses a concurrency, ordering or maxBufferedRecords that cannot work', () => {
    const client = createClient({ backend: scriptedBackend([]) })
    expect(() => client.consumer({ groupId: 'g', concurrency: 0 })).toThrow(/concurrency must be an integer >= 1/)
    expect(() => client.consumer({ groupId: 'g', concurrency: 4, ordering: 'none' as 'key' })).toThrow(
      /ordering must be 'key' or 'partition'/,
    )
    expect(() => client.consumer({ groupId: 'g', concurrency: 4, maxBufferedRecords: 1.5 })).toThrow(
      /maxBufferedRecords must be an integer >= 1/,
    )
    expect(() => client.consumer({ groupId: 'g', concurrency: 4, autoCommit: false })).toThrow(
      /would pass records of other keys still in flight/,
    )
    expect(() =>
      client.consumer({ groupId: 'g', concurrency: 4, ordering: 'partition', autoCommit: false }),
    ).not.toThrow()
  })
})

describe('close() during subscribe()', () => {
  it('ends a subscribe still waiting on the backend with ClosedError, when close() resolves, not after it', async () => {
    const backend = scriptedBackend([])
    let answer: (() => void) | undefined
    // A backend that does not answer (unreachable, still connecting).
    backend.describeTopic = () => new Promise((resolve) => (answer = () => resolve(undefined)))
    const client = createClient({ backend })
    const consumer = client.consumer({ groupId: 'g-closing' })
    const subscribed = consumer
      .subscribe(defineTopic('t', { partitions: 1 }), () => {})
      .then(
        () => 'resolved',
        (e: unknown) => e,
      )
    await new Promise((r) => setTimeout(r, 10))
    await consumer.close()
    const outcome = await Promise.race([subscribed, new Promise((r) => setTimeout(() => r('still pending'), 50))])
    expect(isKeyedError(outcome, 'CLOSED')).toBe(true)
    answer?.()
    await client.close()
  })
})

describe('close() over a backend that abandons batches in flight', () => {
  it('rejects with a TimeoutError naming the records still running, and commits none of them later', async () => {
    const backend = scriptedBackend([raw({ topic: 't', offset: '0', value: json({ amount: 1 }) })])
    const scripted = backend.consumer.bind(backend)
    // A backend whose own close bound is shorter than the consumer's: it leaves while the handler still runs.
    backend.consumer = (options) => ({ ...scripted(options), close: async () => {} })
    const client = createClient({ backend })
    const consumer = client.consumer({ groupId: 'g-abandon', closeTimeoutMs: 5000 })
    let finish: (() => void) | undefined
    await consumer.subscribe(orders, () => new Promise<void>((resolve) => (finish = resolve)), { fromBeginning: true })
    await new Promise((r) => setTimeout(r, 10))
    const outcome = await consumer.close().then(
      () => 'resolved',
      (e: unknown) => e,
    )
    expect(isKeyedError(outcome, 'TIMEOUT')).toBe(true)
    expect((outcome as Error).message).toContain('t[0]@0')
    finish?.()
    await new Promise((r) => setTimeout(r, 10))
    expect(backend.commits).toEqual([])
    await client.close().catch(() => undefined)
  })
})

describe('a failure while close() runs', () => {
  it("is close()'s outcome and stopped()'s, said to neither the logger nor twice; a later close() gives it again", async () => {
    const backend = scriptedBackend([raw({ topic: 't', offset: '0', value: json({ amount: 1 }) })])
    const scripted = backend.consumer.bind(backend)
    backend.consumer = (options) => ({
      ...scripted(options),
      commit: async () => {
        throw new BackendUnavailableError('scripted', 'the commit failed (simulated outage)')
      },
    })
    const logged: unknown[] = []
    const logger = { debug() {}, info() {}, warn() {}, error: (obj: unknown) => void logged.push(obj) }
    const client = createClient({ backend, logger })
    const consumer = client.consumer({ groupId: 'g-close-commit' })
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    await consumer.subscribe(orders, async () => {
      started()
      await new Promise((r) => setTimeout(r, 50))
    })
    await running
    const outcome = await consumer.close().then(
      () => 'resolved',
      (e: unknown) => e,
    )
    expect(isKeyedError(outcome, 'BACKEND_UNAVAILABLE')).toBe(true)
    expect(await consumer.stopped().catch((e: unknown) => e)).toBe(outcome)
    expect(await consumer.close().catch((e: unknown) => e)).toBe(outcome)
    expect(logged).toEqual([])
  })

  it('a consumer an error stopped before close() was called: close() resolves (the error was said already)', async () => {
    const backend = scriptedBackend([raw({ topic: 't', offset: '0', key: null, value: json({ amount: 1 }) })])
    const client = createClient({ backend })
    const consumer = client.consumer({ groupId: 'g-stopped-first', onError: () => {} })
    await consumer.subscribe(orders, () => {})
    expect(isKeyedError(await consumer.stopped().catch((e: unknown) => e), 'MISSING_KEY')).toBe(true)
    await expect(consumer.close()).resolves.toBeUndefined()
    await client.close()
  })
})
