import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  ClosedError,
  createClient,
  defineTopic,
  isKeyedError,
  partitionFor,
  RecordTooLargeError,
  SchemaError,
  SendAbortedError,
  serdes,
  TimeoutError,
  type ProducerOptions,
  type RecordMetadata,
} from '../src/index.js'
import type { OutgoingRecord } from '../src/backend/index.js'
import { gatedBackend, type GatedRequest } from './gated-backend.js'

const events = defineTopic('events', { value: serdes.json<{ key: string; seq: number }>(), partitions: 8 })
const loose = defineTopic('loose', { value: serdes.json<number>(), partitions: 4, ordering: 'none' })

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5))
const seqOf = (r: { value: Uint8Array | null }) => (JSON.parse(Buffer.from(r.value!).toString()) as { seq: number }).seq
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )

function setup(options: ProducerOptions = {}, backendOptions: Parameters<typeof gatedBackend>[0] = { auto: true }) {
  const backend = gatedBackend(backendOptions)
  const client = createClient({ backend })
  return { backend, client, producer: client.producer(options) }
}

/**
 * The gated backend with appendNow, as an in-process backend has it, and appendOne too when `one`; the in-process
 * appends in `failing` (1-based) throw.
 */
function inProcess(failing: readonly number[] = [], one = false) {
  const backend = gatedBackend({ auto: true })
  const requests = backend.producer.bind(backend)
  let appends = 0
  const append = (r: OutgoingRecord): RecordMetadata => {
    const offset = backend.log.filter((x) => x.topic === r.topic && x.partition === r.partition).length
    backend.log.push(r)
    return { topic: r.topic, partition: r.partition, offset: String(offset), timestamp: r.timestamp }
  }
  backend.producer = (settings) => ({
    ...requests(settings),
    appendNow(records: readonly OutgoingRecord[]): RecordMetadata[] {
      if (failing.includes(++appends)) throw new Error(`append ${appends} failed`)
      return records.map(append)
    },
    ...(one && {
      appendOne(record: OutgoingRecord): RecordMetadata {
        if (failing.includes(++appends)) throw new Error(`append ${appends} failed`)
        return append(record)
      },
    }),
  })
  const client = createClient({ backend })
  return { backend, client, producer: client.producer() }
}

/**
 * The gated backend with sendAfter, as the Redis adapter has it: a staged request is kept (with how many records the
 * log held when it came), waits for its predecessor, and is sent (the gated send logs it) only once that succeeded.
 */
function staging(backendOptions: Parameters<typeof gatedBackend>[0] = {}) {
  const backend = gatedBackend(backendOptions)
  const requests = backend.producer.bind(backend)
  const staged: { records: number; logged: number }[] = []
  backend.producer = (settings) => {
    const producer = requests(settings)
    return {
      ...producer,
      sendAfter(records: readonly OutgoingRecord[], previous: Promise<RecordMetadata[]>) {
        staged.push({ records: records.length, logged: backend.log.length })
        return previous.then(
          () => producer.send(records),
          (error: unknown) => {
            throw new SendAbortedError(error)
          },
        )
      },
    }
  }
  const client = createClient({ backend })
  return { backend, staged, client }
}

/** Answers the gated backend's requests as they come, until `done` settles. */
async function answerAll(
  backend: ReturnType<typeof gatedBackend>,
  done: Promise<unknown>,
  answer = (r: GatedRequest) => r.succeed(),
) {
  let over = false
  void done.finally(() => (over = true))
  while (!over) {
    await tick()
    for (const r of [...backend.pending]) answer(r)
  }
}

describe('record accumulator', () => {
  it('batches concurrent single-record sends, keeps per-key order across keys and partitions, and gives each call its own metadata', async () => {
    const { backend, producer } = setup()
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
    const calls: { key: string; seq: number; meta: Promise<RecordMetadata> }[] = []
    for (let round = 0; round < 3; round++) {
      // Callers arrive over several turns, as requests to a server do.
      for (let seq = 0; seq < 40; seq++) {
        const key = keys[(seq * 7 + round) % keys.length]!
        const n = calls.filter((c) => c.key === key).length
        calls.push({ key, seq: n, meta: producer.send(events, { key, value: { key, seq: n } }) })
      }
      await tick()
    }
    const metadata = await Promise.all(calls.map((c) => c.meta))
    expect(backend.log).toHaveLength(calls.length)
    // Fewer requests than calls: calls that arrived while one was in flight went together.
    expect(backend.requests.length).toBeLessThan(calls.length / 4)
    expect(backend.maxConcurrent).toBe(1)
    for (const [i, m] of metadata.entries()) {
      expect(m.partition).toBe(partitionFor(calls[i]!.key, 8))
      const stored = backend.log.filter((r) => r.partition === m.partition)[Number(m.offset)]!
      expect(Buffer.from(stored.key!).toString()).toBe(calls[i]!.key)
      expect(seqOf(stored)).toBe(calls[i]!.seq)
    }
    for (const key of keys) {
      const seqs = backend.log.filter((r) => Buffer.from(r.key!).toString() === key).map(seqOf)
      expect(seqs).toEqual(seqs.map((_, i) => i))
    }
  })

  it('rejects the calls of a failed request with its error and every call queued behind it with SendAbortedError; nothing behind it is sent', async () => {
    const { backend, producer } = setup({ batch: { maxRecords: 2 } }, { auto: true, failing: [2] })
    const first = producer.send(events, { key: 'a', value: { key: 'a', seq: 0 } })
    await tick() // request 1 leaves alone
    const calls = Array.from({ length: 6 }, (_, seq) =>
      settle(producer.send(events, { key: 'a', value: { key: 'a', seq: seq + 1 } })),
    )
    const outcomes = await Promise.all(calls)
    await expect(first).resolves.toMatchObject({ offset: '0' })
    // Request 2 held the first two calls (batch.maxRecords 2): they carry its error.
    expect(outcomes.slice(0, 2).map((o) => !o.ok && (o.error as Error).message)).toEqual([
      'request 2 failed',
      'request 2 failed',
    ])
    for (const o of outcomes.slice(2)) {
      expect(o.ok).toBe(false)
      const error = (o as { error: unknown }).error
      expect(error).toBeInstanceOf(SendAbortedError)
      expect(error).toMatchObject({ code: 'SEND_ABORTED', retriable: true })
      expect((error as Error).message).toMatch(/an earlier send of this producer failed \(request 2 failed\)/)
      expect(((error as Error).cause as Error).message).toBe('request 2 failed')
    }
    expect(backend.requests).toHaveLength(2)
    expect(backend.log.map(seqOf)).toEqual([0])
    // The producer goes on: a call made after the failure is sent.
    await expect(producer.send(events, { key: 'a', value: { key: 'a', seq: 9 } })).resolves.toMatchObject({
      offset: '1',
    })
  })

  it('rejects calls still being validated when an earlier request fails, and never sends them', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = defineTopic('slow', {
      value: { '~standard': { version: 1, vendor: 't', validate: async (v: unknown) => (await gate, { value: v }) } },
    })
    const { backend, producer } = setup({}, { auto: true, failing: [1] })
    const failed = settle(producer.send(events, { key: 'a', value: { key: 'a', seq: 0 } }))
    const behind = settle(producer.send(slow, { key: 'a', value: 1 }))
    expect((await failed).ok).toBe(false)
    release()
    expect(await behind).toMatchObject({ ok: false, error: expect.any(SendAbortedError) })
    await tick()
    expect(backend.requests).toHaveLength(1)
  })

  it('sends the calls of a merged request refused as too large again one per request, in order', async () => {
    const refuse = (records: readonly { topic: string }[]) =>
      records.length > 3 ? new RecordTooLargeError(records[0]!.topic, 'over the limit') : undefined
    const { backend, producer } = setup({}, { auto: true, refuse })
    const first = producer.send(events, { key: 'k', value: { key: 'k', seq: 0 } })
    await tick()
    const calls = [
      producer.send(
        events,
        [1, 2].map((seq) => ({ key: 'k', value: { key: 'k', seq } })),
      ),
      producer.send(
        events,
        [3, 4].map((seq) => ({ key: 'k', value: { key: 'k', seq } })),
      ),
      producer.send(events, { key: 'k', value: { key: 'k', seq: 5 } }),
    ]
    const alone = settle(
      producer.send(
        events,
        [6, 7, 8, 9].map((seq) => ({ key: 'k', value: { key: 'k', seq } })),
      ),
    )
    await expect(Promise.all([first, ...calls])).resolves.toHaveLength(4)
    // A call that is too large by itself fails alone like any failed request.
    expect(await alone).toMatchObject({ ok: false, error: expect.any(RecordTooLargeError) })
    expect(backend.log.map(seqOf)).toEqual([0, 1, 2, 3, 4, 5])
    expect(backend.requests.map((r) => r.records.length)).toEqual([1, 9, 2, 2, 1, 4])
  })

  it('does not resend merged calls a server refused as too large in part: the rest of the request may be in the log', async () => {
    const refuse = (records: readonly { topic: string }[]) =>
      records.length > 1
        ? new RecordTooLargeError(records[0]!.topic, 'a partition batch was refused', undefined, { nothingSent: false })
        : undefined
    const { backend, producer } = setup({}, { auto: true, refuse })
    const first = producer.send(events, { key: 'k', value: { key: 'k', seq: 0 } })
    await tick()
    const merged = [1, 2].map((seq) => settle(producer.send(events, { key: 'k', value: { key: 'k', seq } })))
    await first
    const outcomes = await Promise.all(merged)
    expect(outcomes).toEqual([
      { ok: false, error: expect.any(RecordTooLargeError) },
      { ok: false, error: expect.any(RecordTooLargeError) },
    ])
    // One request for the first call, one for the merged two, and no resend of them one by one.
    expect(backend.requests.map((r) => r.records.length)).toEqual([1, 2])
  })

  it('fails a bad call alone: nothing of it is queued, and the calls around it are sent in order', async () => {
    const strict = defineTopic('strict', { value: z.object({ seq: z.number() }), partitions: 2 })
    const { backend, producer } = setup()
    const outcomes = await Promise.all([
      settle(producer.send(strict, { key: 'k', value: { seq: 0 } })),
      settle(
        producer.send(strict, [
          { key: 'k', value: { seq: 1 } },
          { key: 'k', value: { seq: 'two' } as unknown as { seq: number } },
        ]),
      ),
      settle(producer.send(strict, { key: 'k', value: { seq: 3 } })),
    ])
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true])
    expect((outcomes[1] as { error: unknown }).error).toBeInstanceOf(SchemaError)
    expect(backend.log.map(seqOf)).toEqual([0, 3])
  })

  it('runs an asynchronous schema once per record, for one record given unwrapped as for an array', async () => {
    let runs = 0
    const counted = defineTopic('counted', {
      value: {
        '~standard': {
          version: 1,
          vendor: 't',
          validate: (v: unknown) => (runs++, Promise.resolve({ value: v })),
        },
      },
    })
    const { producer } = setup()
    await producer.send(counted, { key: 'k', value: { seq: 0 } })
    runs = 0
    await producer.send(counted, { key: 'k', value: { seq: 1 } })
    await producer.send(counted, [{ key: 'k', value: { seq: 2 } }])
    expect(runs).toBe(2)
  })

  it('keeps call order when validation is asynchronous and finishes out of order', async () => {
    const delayed = defineTopic('delayed', {
      value: {
        '~standard': {
          version: 1,
          vendor: 't',
          // Earlier calls take longer to validate than later ones.
          validate: async (v: unknown) => (
            await new Promise((r) => setTimeout(r, 30 - (v as { seq: number }).seq)),
            { value: v }
          ),
        },
      },
    })
    const { backend, producer } = setup()
    await Promise.all(Array.from({ length: 20 }, (_, seq) => producer.send(delayed, { key: 'k', value: { seq } })))
    expect(backend.log.map(seqOf)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it.each([['appendNow'], ['appendOne']])(
    'hands each call to a backend that appends in the process (%s) as it is made; a call still being validated holds the later ones behind it, in order',
    async (method) => {
      const sometimesSlow = defineTopic('sometimes-slow', {
        value: {
          '~standard': {
            version: 1,
            vendor: 't',
            validate: (v: unknown) =>
              (v as { slow?: boolean }).slow ? tick().then(() => ({ value: v })) : { value: v },
          },
        },
      })
      const { backend, producer } = inProcess([], method === 'appendOne')
      await producer.send(sometimesSlow, { key: 'k', value: { seq: -1 } }) // the topic is known from here on
      const calls = [producer.send(sometimesSlow, { key: 'k', value: { seq: 0 } })]
      expect(backend.log.map(seqOf)).toEqual([-1, 0]) // appended before send() returned
      calls.push(producer.send(sometimesSlow, { key: 'k', value: { seq: 1, slow: true } }))
      for (let seq = 2; seq < 5; seq++) calls.push(producer.send(sometimesSlow, { key: 'k', value: { seq } }))
      expect(backend.log.map(seqOf)).toEqual([-1, 0]) // 2 to 4 wait behind 1
      const metadata = await Promise.all(calls)
      expect(backend.log.map(seqOf)).toEqual([-1, 0, 1, 2, 3, 4])
      expect(metadata.map((m) => m.partition)).toEqual(Array(5).fill(partitionFor('k', 1)))
      expect(backend.requests.length).toBeGreaterThan(0) // the queued ones went as requests
      void producer.send(sometimesSlow, { key: 'k', value: { seq: 5 } })
      expect(backend.log.map(seqOf)).toEqual([-1, 0, 1, 2, 3, 4, 5]) // nothing queued any more: at once again
    },
  )

  it.each([['appendNow'], ['appendOne']])(
    'rejects a call whose %s failed, and aborts the calls made after it in the same turn; none of them lands',
    async (method) => {
      const { backend, producer } = inProcess([3], method === 'appendOne')
      await producer.send(events, { key: 'a', value: { key: 'a', seq: -1 } }) // a request: the topic was not known yet
      await producer.send(events, { key: 'a', value: { key: 'a', seq: -2 } }) // appendNow 1
      backend.log.length = 0
      const calls = Array.from({ length: 4 }, (_, seq) =>
        settle(producer.send(events, { key: 'a', value: { key: 'a', seq } })),
      )
      const outcomes = await Promise.all(calls)
      expect(outcomes[0]!.ok).toBe(true)
      expect(!outcomes[1]!.ok && (outcomes[1]!.error as Error).message).toBe('append 3 failed')
      for (const o of outcomes.slice(2)) expect(!o.ok && o.error).toBeInstanceOf(SendAbortedError)
      await expect(producer.send(events, { key: 'a', value: { key: 'a', seq: 4 } })).resolves.toMatchObject({
        offset: '1',
      })
      expect(backend.log.map(seqOf)).toEqual([0, 4])
    },
  )

  it('stages the next full request behind the one in flight (sendAfter): written only after it succeeded, in order, with every call its own metadata', async () => {
    const { backend, staged, client } = staging()
    const producer = client.producer({ batch: { maxRecords: 100 } })
    await Promise.all([
      producer.send(events, { key: 'k0', value: { key: 'k0', seq: -1 } }),
      answerAll(backend, producer.flush()),
    ])
    backend.requests.length = 0 // the log keeps the first record, so offsets index it
    const keys = Array.from({ length: 7 }, (_, i) => `k${i}`)
    const calls = Array.from({ length: 450 }, (_, seq) => {
      const key = keys[seq % keys.length]!
      return { key, meta: producer.send(events, { key, value: { key, seq } }) }
    })
    const all = Promise.all(calls.map((c) => c.meta))
    await answerAll(backend, all)
    const metadata = await all
    // 450 calls in requests of 100: the first went by send(), the full ones behind it were staged, each while its
    // predecessor was still pending; the last (50 calls, not full) waited to be composed.
    expect(backend.requests.map((r) => r.records.length)).toEqual([100, 100, 100, 100, 50])
    expect(staged.map((s) => s.records)).toEqual([100, 100, 100])
    // Each was handed over before its predecessor was written: the log then held the requests before that one.
    expect(staged.map((s) => s.logged)).toEqual([1, 101, 201])
    expect(backend.maxConcurrent).toBe(1)
    expect(backend.log.map(seqOf)).toEqual(Array.from({ length: 451 }, (_, i) => i - 1))
    for (const [i, m] of metadata.entries()) {
      const stored = backend.log.filter((r) => r.partition === m.partition)[Number(m.offset)]!
      expect(seqOf(stored)).toBe(i)
    }
  })

  it('rejects a staged request with SendAbortedError when the request before it fails; nothing of it, or behind it, is written', async () => {
    const { backend, staged, client } = staging()
    const producer = client.producer({ batch: { maxRecords: 10 } })
    await Promise.all([
      producer.send(events, { key: 'a', value: { key: 'a', seq: -1 } }),
      answerAll(backend, producer.flush()),
    ])
    backend.log.length = 0
    const calls = Array.from({ length: 35 }, (_, seq) =>
      settle(producer.send(events, { key: 'a', value: { key: 'a', seq } })),
    )
    const all = Promise.all(calls)
    let n = 0
    await answerAll(backend, all, (r) => (++n === 2 ? r.fail(new Error('request 2 failed')) : r.succeed()))
    const outcomes = await all
    expect(staged.length).toBeGreaterThan(0)
    expect(outcomes.slice(0, 10).every((o) => o.ok)).toBe(true)
    for (const o of outcomes.slice(10, 20)) expect(!o.ok && (o.error as Error).message).toBe('request 2 failed')
    for (const o of outcomes.slice(20)) expect(!o.ok && o.error).toBeInstanceOf(SendAbortedError)
    expect(backend.log.map(seqOf)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    // The producer goes on: the next send is written.
    const next = producer.send(events, { key: 'a', value: { key: 'a', seq: 99 } })
    await Promise.all([next, answerAll(backend, next)])
    expect(backend.log.map(seqOf).at(-1)).toBe(99)
  })

  it('stages nothing to be written behind a request whose send() threw: the staged one sees that failure', async () => {
    const { backend, client } = staging({ auto: true })
    const requests = backend.producer.bind(backend)
    let sends = 0
    backend.producer = (settings) => {
      const producer = requests(settings)
      return {
        ...producer,
        send(records: readonly OutgoingRecord[]) {
          if (++sends === 2) throw new Error('send 2 threw')
          return producer.send!(records)
        },
      }
    }
    const producer = client.producer({ batch: { maxRecords: 10 } })
    await producer.send(events, { key: 'a', value: { key: 'a', seq: -1 } })
    backend.log.length = 0
    const outcomes = await Promise.all(
      Array.from({ length: 35 }, (_, seq) => settle(producer.send(events, { key: 'a', value: { key: 'a', seq } }))),
    )
    for (const o of outcomes.slice(0, 10)) expect(!o.ok && (o.error as Error).message).toBe('send 2 threw')
    for (const o of outcomes.slice(10)) expect(!o.ok && o.error).toBeInstanceOf(SendAbortedError)
    await tick() // a request written by mistake would be answered by now
    expect(backend.log).toEqual([])
  })

  it('sends a staged request again, after the calls of a merged request refused as too large before it left', async () => {
    const { backend, client } = staging({
      auto: true,
      refuse: (records) =>
        records.length > 1 && seqOf(records[0]!) === 8
          ? new RecordTooLargeError(records[0]!.topic, 'over the limit')
          : undefined,
    })
    const producer = client.producer({ batch: { maxRecords: 8 } })
    await producer.send(events, { key: 'a', value: { key: 'a', seq: -1 } })
    backend.log.length = 0
    // Requests of 8: the second (seq 8–15) is refused as too large while the third is staged behind it.
    await Promise.all(
      Array.from({ length: 30 }, (_, seq) => producer.send(events, { key: 'a', value: { key: 'a', seq } })),
    )
    expect(backend.log.map(seqOf)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  it('never splits a call over two requests; a call above batch.maxRecords goes alone', async () => {
    const { backend, producer } = setup({ batch: { maxRecords: 3 } }, {})
    const sizes = [2, 2, 5, 1, 1, 1, 3]
    let next = 0
    const calls = sizes.map((n, c) =>
      producer.send(
        events,
        Array.from({ length: n }, () => ({ key: `c${c}`, value: { key: `c${c}`, seq: next++ } })),
      ),
    )
    while (backend.log.length < next) {
      await tick()
      for (const r of [...backend.pending]) r.succeed()
    }
    await Promise.all(calls)
    const shapes = backend.requests.map((r) => r.records.map((x) => Buffer.from(x.key!).toString()))
    for (const [c, n] of sizes.entries()) {
      const holding = shapes.filter((s) => s.includes(`c${c}`))
      expect(holding, `call ${c}`).toHaveLength(1)
      expect(holding[0]!.filter((k) => k === `c${c}`)).toHaveLength(n)
    }
    for (const s of shapes) expect(s.length <= 3 || new Set(s).size === 1).toBe(true)
    expect(backend.log.map(seqOf)).toEqual(Array.from({ length: next }, (_, i) => i))
  })

  it('bounds the queue: a send waits up to maxBlockMs for room, then rejects with a retriable TimeoutError; a call larger than the queue is refused', async () => {
    const value = 'x'.repeat(1000)
    const big = defineTopic('big', { value: serdes.string(), partitions: 1 })
    const { backend, producer } = setup({ maxQueuedBytes: 5000, maxBlockMs: 80 }, {})
    const held = [0, 1, 2, 3].map(() => producer.send(big, { key: 'k', value }))
    const started = Date.now()
    const blocked = await settle(producer.send(big, { key: 'k', value }))
    expect(Date.now() - started).toBeGreaterThanOrEqual(70)
    expect(blocked).toMatchObject({ ok: false, error: expect.any(TimeoutError) })
    expect((blocked as { error: TimeoutError }).error).toMatchObject({ code: 'TIMEOUT', retriable: true })
    expect((blocked as { error: Error }).error.message).toMatch(/maxQueuedBytes \(5000\)/)
    await expect(producer.send(big, { key: 'k', value: 'y'.repeat(6000) })).rejects.toBeInstanceOf(RecordTooLargeError)
    // Room comes back as requests are acknowledged: a waiting send then goes out.
    const waiting = producer.send(big, { key: 'k', value })
    await tick()
    while (backend.pending.length) {
      for (const r of [...backend.pending]) r.succeed()
      await tick()
    }
    await expect(Promise.all([...held, waiting])).resolves.toHaveLength(5)
  })

  it('gives room in call order: a call still being validated is not starved of room by a later call', async () => {
    const slowFirst = defineTopic('slow-first', {
      value: {
        '~standard': {
          version: 1,
          vendor: 't',
          validate: (v: unknown) => ((v as { slow?: boolean }).slow ? tick().then(() => ({ value: v })) : { value: v }),
        },
      },
    })
    // Room for one of the two large calls at a time.
    const { backend, producer } = setup({ maxQueuedBytes: 400, maxBlockMs: 3000 })
    await producer.send(slowFirst, { key: 'k', value: { seq: -1 } })
    const big = 'x'.repeat(250)
    const started = Date.now()
    const a = producer.send(slowFirst, { key: 'k', value: { seq: 0, slow: true, big } })
    const b = producer.send(slowFirst, { key: 'k', value: { seq: 1, big } })
    await Promise.all([a, b])
    expect(Date.now() - started).toBeLessThan(2000)
    expect(backend.log.map(seqOf)).toEqual([-1, 0, 1])
  })

  it('rejects many calls waiting for room within about maxBlockMs, each in constant time', async () => {
    const { producer } = setup({ maxQueuedBytes: 60, maxBlockMs: 300, closeTimeoutMs: 50 }, {})
    void settle(producer.send(events, { key: 'k', value: { key: 'k', seq: 0 } })) // in flight for good, holding the room
    await tick()
    const started = Date.now()
    const waiting = Array.from({ length: 40_000 }, (_, seq) =>
      settle(producer.send(events, { key: 'k', value: { key: 'k', seq } })),
    )
    const outcomes = await Promise.all(waiting)
    expect(outcomes.every((o) => !o.ok && o.error instanceof TimeoutError)).toBe(true)
    expect(Date.now() - started).toBeLessThan(5000)
    await producer.close().catch(() => undefined)
  })

  it('flush() waits for everything sent so far and does not wait for lingerMs', async () => {
    const { backend, producer } = setup({ lingerMs: 60_000 })
    const sent = [
      producer.send(events, { key: 'a', value: { key: 'a', seq: 0 } }),
      producer.send(events, { key: 'b', value: { key: 'b', seq: 0 } }),
    ]
    await tick()
    expect(backend.requests).toHaveLength(0)
    const started = Date.now()
    await producer.flush()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(backend.log).toHaveLength(2)
    await expect(Promise.all(sent)).resolves.toHaveLength(2)
    await producer.flush()
  })

  it('lingerMs gathers calls that arrive while nothing is in flight into one request', async () => {
    const { backend, producer } = setup({ lingerMs: 100 })
    const a = producer.send(events, { key: 'a', value: { key: 'a', seq: 0 } })
    await tick()
    const b = producer.send(events, { key: 'b', value: { key: 'b', seq: 0 } })
    await Promise.all([a, b])
    expect(backend.requests.map((r) => r.records.length)).toEqual([2])
  })

  it('close() sends what is queued first, refuses later sends, and every close() gets the same outcome', async () => {
    const { backend, producer } = setup()
    const queued = Array.from({ length: 10 }, (_, seq) => producer.send(events, { key: 'k', value: { key: 'k', seq } }))
    const [one, two] = [producer.close(), producer.close()]
    expect(one).toBe(two)
    await one
    await expect(Promise.all(queued)).resolves.toHaveLength(10)
    expect(backend.log).toHaveLength(10)
    await expect(producer.send(events, { key: 'k', value: { key: 'k', seq: 10 } })).rejects.toBeInstanceOf(ClosedError)
  })

  it('close() is bounded by closeTimeoutMs when the backend never answers: queued and in-flight calls reject saying which, close rejects with a TimeoutError', async () => {
    const { producer } = setup({ closeTimeoutMs: 100 }, {})
    const inFlight = settle(producer.send(events, { key: 'k', value: { key: 'k', seq: 0 } }))
    await tick()
    const queued = settle(producer.send(events, { key: 'k', value: { key: 'k', seq: 1 } }))
    const started = Date.now()
    const closed = await settle(producer.close())
    expect(Date.now() - started).toBeLessThan(2000)
    expect(closed).toMatchObject({ ok: false, error: expect.any(TimeoutError) })
    // Nothing of the queued call was sent: retriable. The call in flight may still land: it says so.
    const q = await queued
    expect(q).toMatchObject({ ok: false, error: expect.any(TimeoutError) })
    expect(!q.ok && (q.error as TimeoutError).message).toMatch(/queued .*nothing of it was sent/)
    expect(!q.ok && (q.error as TimeoutError).retriable).toBe(true)
    const f = await Promise.race([inFlight, tick().then(() => 'pending' as const)])
    expect(f).toMatchObject({ ok: false, error: expect.any(TimeoutError) })
    expect(f !== 'pending' && !f.ok && (f.error as Error).message).toMatch(/in flight .*may still land/)
    // Nothing is left unsettled: flush() after close() resolves at once.
    expect(await Promise.race([producer.flush().then(() => 'flushed'), tick().then(() => 'pending')])).toBe('flushed')
  })

  it('keeps several requests in flight with maxInFlight > 1 on a non-idempotent producer', async () => {
    const { backend, producer } = setup(
      { idempotent: false, acks: 'leader', maxInFlight: 3, batch: { maxRecords: 1 } },
      {},
    )
    const calls = Array.from({ length: 9 }, (_, i) => producer.send(loose, { value: i }))
    await tick()
    expect(backend.pending).toHaveLength(3)
    while (backend.log.length < 9) {
      for (const r of [...backend.pending]) r.succeed()
      await tick()
    }
    await expect(Promise.all(calls)).resolves.toHaveLength(9)
    expect(backend.maxConcurrent).toBe(3)
  })

  it('checks its options with one message style', () => {
    const { client } = setup()
    expect(() => client.producer({ lingerMs: -1 })).toThrow(/Producer lingerMs must be an integer >= 0, got -1/)
    expect(() => client.producer({ batch: { maxRecords: 0 } })).toThrow(
      /Producer batch.maxRecords must be an integer >= 1/,
    )
    expect(() => client.producer({ maxQueuedBytes: 1.5 })).toThrow(/Producer maxQueuedBytes must be an integer >= 1/)
    expect(() => client.producer({ maxBlockMs: '5' as unknown as number })).toThrow(/got '5'/)
    expect(isKeyedError(new SendAbortedError(new Error('x')), 'SEND_ABORTED')).toBe(true)
  })
})
