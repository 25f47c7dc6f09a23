import { expect } from 'vitest'
import { isKeyedError, type KeyedError } from '../../errors.js'
import type { Message } from '../../consumer.js'
import { defineTopic } from '../../topic.js'
import { keyWatch, missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** Per-key concurrency: order per key, commits at the finished prefix, retries that park one key (issue 11). */
export const concurrencyCases: readonly ConformanceCase[] = [
  {
    name: 'concurrency: keeps per-key order with many keys in flight, one record per key at a time, across members joining under load',
    timeoutFactor: 6,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('conc-order'), { partitions: 6, value: orderSchema })
      const group = unique('group')
      const keys = Array.from({ length: 120 }, (_, i) => `k-${i}`)
      const perKey = 12
      const perSend = 4
      const events: Handled[] = []
      const watch = keyWatch()
      const join = async (member: string) => {
        const client = await h.client()
        await client
          .consumer(h.consumerOptions(group, { concurrency: 32 }))
          .subscribe(topic, (m: Message<typeof topic>) =>
            watch.around(member, m.key, async () => {
              events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
              await sleep(1 + (m.value.seq % 3))
            }),
          )
        return client
      }
      const producer = (await h.client()).producer()
      await join('a')
      const load = (async () => {
        // Several records of each key per send, so one batch holds a key more than once.
        for (let s = 0; s < perKey; s += perSend) {
          await producer.send(
            topic,
            Array.from({ length: perSend }, (_, i) => keys.map((key) => ({ key, value: { seq: s + i } }))).flat(),
          )
          await sleep(30)
        }
      })()
      await waitFor('a to handle records', t, () => events.length > 200)
      await join('b')
      await load
      await waitFor('every record', t * 2, () => missing(events, keys, perKey).length === 0)
      expect(watch.overlaps).toEqual([])
      expect(orderViolations(events)).toEqual([])
      // Keys really ran side by side.
      expect(watch.peak()).toBeGreaterThan(4)
    },
  },
  {
    name: 'concurrency: commits only the finished prefix, so a record left unfinished is handed out again although later ones finished',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('conc-prefix'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      // offset 0: key a (finishes); 1: key slow (fails after the others finished); 2..7: other keys (finish).
      const meta = await producer.send(topic, [
        { key: 'a', value: { seq: 0 } },
        { key: 'slow', value: { seq: 0 } },
        ...Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: { seq: 0 } })),
      ])
      const finished: string[] = []
      const client = await h.client()
      const consumer = client.consumer(
        h.consumerOptions(group, { concurrency: 8, retry: { attempts: 1 }, onError: () => {} }),
      )
      const stopped = consumer.stopped()
      await consumer.subscribe(
        topic,
        async (m) => {
          if (m.key === 'slow') {
            await waitFor('the other keys to finish', t, () => finished.length === 7)
            throw new Error('slow failed')
          }
          finished.push(m.offset)
        },
        { fromBeginning: true },
      )
      const error = (await stopped.catch((e: unknown) => e)) as KeyedError
      expect(isKeyedError(error, 'HANDLER_FAILED')).toBe(true)
      expect(finished).toHaveLength(7)

      const resumed: string[] = []
      const next = await h.client()
      await next.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void resumed.push(m.offset))
      await waitFor('redelivery from the unfinished record', t, () => resumed.length >= 7)
      // Committed after offset 0 only: the failed record comes back first, with the later ones it did not block.
      expect(resumed).toEqual(meta.slice(1).map((m) => m.offset))
    },
  },
  {
    name: 'concurrency: a record waiting for its retry blocks only its key; other keys flow, and its key resumes after it is dead-lettered',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('conc-retry'), { partitions: 1, value: orderSchema })
      const producer = (await h.client()).producer()
      const others = Array.from({ length: 5 }, (_, i) => `k${i}`)
      await producer.send(topic, [
        { key: 'bad', value: { seq: 0 } },
        ...[0, 1, 2, 3].flatMap((seq) => others.map((key) => ({ key, value: { seq } }))),
        { key: 'bad', value: { seq: 1 } },
      ])
      const log: Array<{ key: string; seq: number; at: number }> = []
      let tries = 0
      let lastTry = 0
      const client = await h.client()
      await client
        .consumer(
          h.consumerOptions(unique('group'), {
            concurrency: 2,
            deadLetter: true,
            retry: { attempts: 3, initialBackoffMs: 150 },
          }),
        )
        .subscribe(
          topic,
          async (m) => {
            if (m.key === 'bad' && m.value.seq === 0) {
              if (++tries === 3) lastTry = Date.now()
              throw new Error('always fails')
            }
            await sleep(5)
            log.push({ key: m.key, seq: m.value.seq, at: Date.now() })
          },
          { fromBeginning: true },
        )
      await waitFor('bad#1 after the dead letter', t, () => log.some((e) => e.key === 'bad'))
      expect(tries).toBe(3)
      // While bad#0 waited 150 + 300 ms for its tries, the other keys' 20 records all ran; bad#1 ran only after it.
      expect(log.filter((e) => e.key !== 'bad' && e.at < lastTry)).toHaveLength(20)
      expect(log.find((e) => e.key === 'bad')!.at).toBeGreaterThanOrEqual(lastTry)
      expect(orderViolations(log.map((e) => ({ key: e.key, seq: e.key === 'bad' ? 0 : e.seq })))).toEqual([])
    },
  },
  {
    name: 'concurrency: a member closed with records in flight, some never finishing, loses nothing; the next member handles them all',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('conc-close'), { partitions: 2, value: orderSchema })
      const group = unique('group')
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
      const perKey = 6
      const producer = (await h.client()).producer()
      for (let s = 0; s < perKey; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
      const done: Handled[] = []
      const first = await h.client()
      const consumer = first.consumer(h.consumerOptions(group, { concurrency: 16, closeTimeoutMs: 800 }))
      await consumer.subscribe(
        topic,
        async (m) => {
          // Key k0 never finishes here, like a member killed while it ran; the other keys finish past it.
          if (m.key === 'k0') return new Promise<void>(() => {})
          await sleep(2)
          done.push({ member: 'first', key: m.key, seq: m.value.seq, partition: m.partition })
        },
        { fromBeginning: true },
      )
      await waitFor('the other keys to finish', t, () => done.length === (keys.length - 1) * perKey)
      const error = (await consumer.close().catch((e: unknown) => e)) as KeyedError
      expect(isKeyedError(error, 'TIMEOUT')).toBe(true)

      const second = await h.client()
      await second.consumer(h.consumerOptions(group, { concurrency: 16 })).subscribe(
        topic,
        async (m) => {
          await sleep(1)
          done.push({ member: 'second', key: m.key, seq: m.value.seq, partition: m.partition })
          // A partition whose first record never finished has no commit yet: fromBeginning says where that starts.
        },
        { fromBeginning: true },
      )
      await waitFor(
        'every record finished by one member or the other',
        t,
        () => missing(done, keys, perKey).length === 0,
      )
      expect(orderViolations(done)).toEqual([])
      // Redelivery replays from each partition's finished prefix: at most what the first member had fetched.
      const duplicates = done.length - keys.length * perKey
      expect(duplicates).toBeLessThan(keys.length * perKey)
    },
  },
]
