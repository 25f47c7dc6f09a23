import { expect } from 'vitest'
import type { Backend, OutgoingRecord } from '../../backend/contract.js'
import { createClient } from '../../client.js'
import { isKeyedError, SendAbortedError } from '../../errors.js'
import { partitionFor } from '../../murmur2.js'
import type { RecordMetadata } from '../../producer.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { lastOffsets, orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/**
 * The backend, with its producers' requests counted (1-based) and kept; requests whose numbers are in `failing`
 * are refused before they reach the backend, as a backend refuses a request; a request for which `hold` returns a
 * promise reaches the backend once it resolves (it stays in flight meanwhile).
 */
function watched(
  backend: Backend,
  failing: readonly number[] = [],
  hold: (request: number) => Promise<void> | undefined = () => undefined,
): Backend & { requests: (readonly OutgoingRecord[])[]; staged: number[] } {
  const requests: (readonly OutgoingRecord[])[] = []
  /** The numbers of the requests handed over through sendAfter (behind the one in flight). */
  const staged: number[] = []
  const producer = (settings: Parameters<Backend['producer']>[0]) => {
    const inner = backend.producer(settings)
    const refused = () =>
      failing.includes(requests.length)
        ? Promise.reject(new Error(`request ${requests.length} refused by the test`))
        : undefined
    return {
      send(records: readonly OutgoingRecord[]) {
        requests.push([...records])
        const refusal = refused()
        if (refusal) return refusal
        const held = hold(requests.length)
        return held ? held.then(() => inner.send(records)) : inner.send(records)
      },
      // The backend's own sendAfter, if it has one: a request staged behind a refused one must write nothing.
      ...(inner.sendAfter && {
        sendAfter(records: readonly OutgoingRecord[], previous: Promise<RecordMetadata[]>) {
          requests.push([...records])
          staged.push(requests.length)
          return refused() ?? inner.sendAfter!(records, previous)
        },
      }),
      close: () => inner.close(),
    }
  }
  // Everything else is the backend's own, called on the backend itself.
  return new Proxy(backend, {
    get(target, property) {
      if (property === 'producer') return producer
      if (property === 'requests') return requests
      if (property === 'staged') return staged
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  }) as Backend & { requests: (readonly OutgoingRecord[])[]; staged: number[] }
}

/** Concurrent sends through the producer's accumulator: order, loss, failure and per-call atomicity on a real backend. */
export const accumulatorCases: readonly ConformanceCase[] = [
  {
    name: 'concurrent single-record sends from many callers keep per-key order over many keys and partitions, and lose nothing',
    async run(h) {
      const topic = defineTopic(unique('concurrent'), { partitions: 8, value: orderSchema })
      const producer = (await h.client()).producer()
      const keys = Array.from({ length: 40 }, (_, i) => `caller-${i}`)
      const perKey = 25
      const calls: Promise<RecordMetadata>[] = []
      const sent: { key: string; seq: number }[] = []
      // Callers arrive in waves over several turns while requests are in flight, keys interleaved.
      for (let seq = 0; seq < perKey; seq++) {
        for (const key of keys) {
          sent.push({ key, seq })
          calls.push(producer.send(topic, { key, value: { seq } }))
        }
        if (seq % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 1))
      }
      const metadata = await Promise.all(calls)
      for (const [i, m] of metadata.entries()) expect(m.partition).toBe(partitionFor(sent[i]!.key, 8))
      const got = await h.readAll(topic, lastOffsets(metadata))
      expect(got).toHaveLength(keys.length * perKey)
      for (const key of keys)
        expect(
          got.filter((m) => m.key === key).map((m) => m.value.seq),
          key,
        ).toEqual(Array.from({ length: perKey }, (_, s) => s))
      // Each call's metadata names where its own record is.
      const at = new Map(got.map((m) => [`${m.partition}/${m.offset}`, m]))
      for (const [i, m] of metadata.entries()) {
        const stored = at.get(`${m.partition}/${m.offset}`)!
        expect([stored.key, stored.value.seq]).toEqual([sent[i]!.key, sent[i]!.seq])
      }
    },
  },
  {
    name: 'a failed request rejects its calls and every call queued behind it, and none of those lands',
    async run(h) {
      const topic = defineTopic(unique('abort'), { partitions: 3, value: orderSchema })
      const backend = watched(await h.options.backend(), [2])
      const client = createClient({ backend })
      try {
        const producer = client.producer({ batch: { maxRecords: 2 } })
        const first = await producer.send(topic, { key: 'k', value: { seq: 0 } })
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => producer.send(topic, { key: 'k', value: { seq: i + 1 } })),
        )
        // Request 2 carried seq 1 and 2 (batch.maxRecords 2) and failed; seq 3 to 6 were queued behind it, and a
        // backend with sendAfter had request 3 (seq 3 and 4) staged behind it: it must have written nothing.
        expect(outcomes.map((o) => o.status)).toEqual(Array(6).fill('rejected'))
        for (const o of outcomes.slice(0, 2))
          expect(((o as PromiseRejectedResult).reason as Error).message).toMatch(/request 2 refused/)
        for (const o of outcomes.slice(2)) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(SendAbortedError)
        expect(backend.staged).toEqual(backend.staged.length ? [3] : [])
        expect(backend.requests).toHaveLength(2 + backend.staged.length)
        const last = await producer.send(topic, { key: 'k', value: { seq: 7 } })
        const got = await h.readAll(topic, lastOffsets([first, last]))
        expect(got.map((m) => m.value.seq)).toEqual([0, 7])
      } finally {
        await client.close()
      }
    },
  },
  {
    name: "keeps each call's records in one request and together in their partition while concurrent calls are batched",
    async run(h) {
      const topic = defineTopic(unique('per-call'), { partitions: 4, value: orderSchema })
      const backend = watched(await h.options.backend())
      const client = createClient({ backend })
      try {
        const producer = client.producer({ batch: { maxRecords: 20 } })
        const calls: Promise<RecordMetadata | RecordMetadata[]>[] = []
        for (let c = 0; c < 30; c++) {
          // A call of 6 records of one key (one partition), between single sends of other keys.
          calls.push(
            producer.send(
              topic,
              Array.from({ length: 6 }, (_, seq) => ({ key: `batch-${c}`, value: { seq } })),
            ),
          )
          for (let s = 0; s < 3; s++) calls.push(producer.send(topic, { key: `single-${c}-${s}`, value: { seq: 0 } }))
        }
        const metadata = (await Promise.all(calls)).flat()
        expect(backend.requests.length).toBeLessThan(calls.length)
        for (let c = 0; c < 30; c++) {
          const holding = backend.requests.filter((r) => r.some((x) => Buffer.from(x.key!).toString() === `batch-${c}`))
          expect(holding, `requests holding call ${c}`).toHaveLength(1)
        }
        const got = await h.readAll(topic, lastOffsets(metadata))
        expect(got).toHaveLength(30 * 9)
        for (let c = 0; c < 30; c++) {
          const partition = got.filter((m) => m.partition === partitionFor(`batch-${c}`, 4))
          const first = partition.findIndex((m) => m.key === `batch-${c}`)
          expect(partition.slice(first, first + 6).map((m) => [m.key, m.value.seq])).toEqual(
            Array.from({ length: 6 }, (_, seq) => [`batch-${c}`, seq]),
          )
        }
      } finally {
        await client.close()
      }
    },
  },
  {
    name: 'aborting a send still queued removes it with an AbortError while the sends around it land; a send in flight is not recalled',
    async run(h) {
      const topic = defineTopic(unique('abort-send'), { partitions: 1, value: orderSchema })
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      const backend = watched(await h.options.backend(), [], (n) => (n === 2 ? released : undefined))
      const client = createClient({ backend })
      try {
        const producer = client.producer()
        const first = await producer.send(topic, { key: 'k', value: { seq: 0 } })
        const inFlight = new AbortController()
        const queued = new AbortController()
        const a = producer.send(topic, { key: 'k', value: { seq: 1 } }, { signal: inFlight.signal })
        // Request 2 (seq 1) is in flight and held there; seq 2 and 3 wait behind it (one request in flight).
        await waitFor('request 2 to leave', h.timeoutMs, () => backend.requests.length === 2)
        const b = producer.send(topic, { key: 'k', value: { seq: 2 } }, { signal: queued.signal })
        const c = producer.send(topic, { key: 'k', value: { seq: 3 } })
        await new Promise((resolve) => setTimeout(resolve, 10))
        queued.abort(new Error('the caller gave up'))
        const error = await Promise.race([
          b.catch((e: unknown) => e),
          sleep(h.timeoutMs).then(() => new Error('the aborted send is still pending')),
        ])
        expect(isKeyedError(error, 'ABORTED')).toBe(true)
        expect((error as Error).name).toBe('AbortError')
        expect((error as Error).message).toMatch(/the caller gave up.*nothing of it was sent/)
        inFlight.abort()
        release()
        const [sentA, sentC] = await Promise.all([a, c])
        // An already aborted signal: refused at once, nothing queued.
        await expect(
          producer.send(topic, { key: 'k', value: { seq: 4 } }, { signal: AbortSignal.abort() }),
        ).rejects.toMatchObject({ code: 'ABORTED' })
        expect(backend.requests.map((r) => r.length)).toEqual([1, 1, 1])
        const got = await h.readAll(topic, lastOffsets([first, sentA, sentC]))
        expect(got.map((m) => m.value.seq)).toEqual([0, 1, 3])
      } finally {
        await client.close()
      }
    },
  },
]
