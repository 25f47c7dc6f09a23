import { expect } from 'vitest'
import { isKeyedError, type KeyedError } from '../../errors.js'
import { defineTopic } from '../../topic.js'
import { keyWatch, missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** Async iteration (consumer.messages) and AbortSignals on the consumer: what is committed when a loop or a wait ends early. */
export const messagesCases: readonly ConformanceCase[] = [
  {
    name: 'an iterator left mid-stream (break, then a throw) commits only what the loop finished, and the group resumes at the first unfinished record of each key',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('iterate'), { partitions: 2, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const keys = ['a', 'b', 'c', 'd']
      for (let s = 0; s < 10; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
      /** Runs one loop on a new member; returns what it finished, and the record it held when it left. */
      const loop = async (member: string, leaveAfter: number, how: 'break' | 'throw') => {
        const finished: Handled[] = []
        let held: Handled | undefined
        const consumer = (await h.client()).consumer(h.consumerOptions(group, { maxBatchSize: 7 }))
        const left = (async () => {
          for await (const m of consumer.messages(topic, { fromBeginning: true })) {
            const event = { member, key: m.key, seq: m.value.seq, partition: m.partition }
            if (finished.length === leaveAfter) {
              held = event
              if (how === 'break') break
              throw new Error('the loop body failed')
            }
            finished.push(event)
          }
        })()
        const outcome = await Promise.race([
          left.then(
            () => 'broke',
            (e: Error) => e.message,
          ),
          sleep(t).then(() => 'hung'),
        ])
        // Leaving the loop closed the consumer.
        await consumer.stopped()
        return { finished, held: held!, outcome }
      }
      const first = await loop('1', 13, 'break')
      expect(first.outcome).toBe('broke')
      const second = await loop('2', 9, 'throw')
      expect(second.outcome).toBe('the loop body failed')
      // Each loop starts every key right after the last record of it a loop finished: the held record comes again.
      const finished = [...first.finished, ...second.finished]
      const nextOf = (events: readonly Handled[], key: string) =>
        Math.max(-1, ...events.filter((e) => e.key === key).map((e) => e.seq)) + 1
      for (const key of keys) {
        const firstOfSecond =
          second.finished.find((e) => e.key === key) ?? (second.held.key === key ? second.held : undefined)
        if (firstOfSecond) expect(firstOfSecond.seq, key).toBe(nextOf(first.finished, key))
      }
      expect(first.held.seq).toBe(nextOf(first.finished, first.held.key))

      const rest: Handled[] = []
      const consumer = (await h.client()).consumer(h.consumerOptions(group))
      const reading = (async () => {
        for await (const m of consumer.messages(topic, { fromBeginning: true })) {
          rest.push({ member: '3', key: m.key, seq: m.value.seq, partition: m.partition })
          if (missing([...finished, ...rest], keys, 10).length === 0) break
        }
      })()
      await waitFor('the rest of the records', t, () => missing([...finished, ...rest], keys, 10).length === 0)
      await reading
      for (const key of keys) {
        const firstOfRest = rest.find((e) => e.key === key)
        if (firstOfRest) expect(firstOfRest.seq, key).toBe(nextOf(finished, key))
      }
      // Nothing a loop finished came again, and nothing was skipped.
      expect([...finished, ...rest]).toHaveLength(40)
      expect(orderViolations([...finished, ...rest])).toEqual([])
    },
  },
  {
    name: 'iterators of two members through a rebalance: no record of a partition yielded after its revocation, no key handled by both at once, per-key order kept, nothing lost',
    timeoutFactor: 6,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('iterate-rebalance'), { partitions: 4, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`)
      for (let s = 0; s < 25; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
      const watch = keyWatch()
      const events: Handled[] = []
      const complete = () => missing(events, keys, 25).length === 0
      const done = new AbortController()
      /** Records a member yielded of a partition it had been told it lost (and not given back since). */
      const afterRevocation: string[] = []
      const loop = async (member: string) => {
        const owned = new Set<number>()
        const consumer = (await h.client()).consumer(
          h.consumerOptions(group, {
            maxBatchSize: 10,
            onPartitionsAssigned: (tps) => tps.forEach((tp) => owned.add(tp.partition)),
            onPartitionsRevoked: (tps) => tps.forEach((tp) => owned.delete(tp.partition)),
          }),
        )
        const messages = consumer.messages(topic, { fromBeginning: true, signal: done.signal })
        try {
          for await (const m of messages) {
            if (!owned.has(m.partition)) afterRevocation.push(`member ${member}: ${m.partition}@${m.offset}`)
            events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
            // Slow enough that the rebalance comes while records of each partition wait in the iterator, and now and
            // then much slower, so it also comes while the body holds a record.
            await watch.around(member, m.key, () => sleep(m.value.seq % 12 === 11 ? 150 : 5))
          }
        } catch (error) {
          if (!isKeyedError(error, 'ABORTED')) throw error
        }
      }
      const first = loop('1')
      await waitFor('the first member to handle 40 records', t, () => events.length >= 40)
      const second = loop('2')
      await waitFor('every record', t * 4, complete)
      done.abort()
      await Promise.all([first, second])
      expect(afterRevocation).toEqual([])
      expect(watch.overlaps).toEqual([])
      expect(orderViolations(events)).toEqual([])
      expect(new Set(events.map((e) => e.member))).toEqual(new Set(['1', '2']))
    },
  },
  {
    name: "aborting a message loop's signal ends it with an AbortError and closes the consumer, keeping what the loop finished",
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('iterate-abort'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        [0, 1, 2].map((s) => ({ key: 'k', value: { seq: s } })),
      )
      const controller = new AbortController()
      const consumer = (await h.client()).consumer(h.consumerOptions(group))
      const seen: number[] = []
      const loop = (async () => {
        for await (const m of consumer.messages(topic, { fromBeginning: true, signal: controller.signal }))
          seen.push(m.value.seq)
      })()
      const outcome = loop.then(
        () => undefined,
        (e: unknown) => e as KeyedError,
      )
      // The loop waits for more records; the abort ends that wait.
      await waitFor('the three records', t, () => seen.length === 3)
      await sleep(100)
      controller.abort(new Error('shutting down'))
      const error = await outcome
      expect(isKeyedError(error, 'ABORTED')).toBe(true)
      expect(error!.name).toBe('AbortError')
      expect(error!.message).toContain('shutting down')
      await consumer.stopped()

      // All three finished (the loop had asked for the next one): none comes again.
      await producer.send(topic, { key: 'k', value: { seq: 3 } })
      const after: number[] = []
      const next = (await h.client()).consumer(h.consumerOptions(group))
      for await (const m of next.messages(topic, { fromBeginning: true })) {
        after.push(m.value.seq)
        break
      }
      expect(after).toEqual([3])
    },
  },
  {
    name: "close() with an aborted signal stops waiting for a handler that hangs, commits what finished, and rejects with an AbortError naming the record; a subscribe's signal closes the consumer",
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('close-abort'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        [0, 1, 2].map((s) => ({ key: 'k', value: { seq: s } })),
      )
      let hung = false
      // Far longer than the test: only the abort can end this close in time.
      const consumer = (await h.client()).consumer(h.consumerOptions(group, { closeTimeoutMs: 120_000 }))
      await consumer.subscribe(
        topic,
        (m) => {
          if (m.value.seq === 0) return
          hung = true
          return new Promise<void>(() => {})
        },
        { fromBeginning: true },
      )
      await waitFor('the handler of seq 1 to hang', t, () => hung)
      const controller = new AbortController()
      const closing = consumer.close({ signal: controller.signal })
      await sleep(200)
      const started = Date.now()
      controller.abort()
      const error = (await closing.catch((e: unknown) => e)) as KeyedError
      expect(Date.now() - started).toBeLessThan(t)
      expect(isKeyedError(error, 'ABORTED')).toBe(true)
      expect(error.message).toContain(`${topic.name}[0]@`)
      await expect(consumer.stopped()).rejects.toBe(error)

      // seq 0 was committed, seq 1 was not; a subscription whose signal is aborted closes its consumer.
      const resumed: number[] = []
      const stop = new AbortController()
      const next = (await h.client()).consumer(h.consumerOptions(group))
      await next.subscribe(topic, (m) => void resumed.push(m.value.seq), { signal: stop.signal })
      await waitFor('redelivery of the unfinished record', t, () => resumed.length >= 2)
      stop.abort()
      await next.stopped()
      expect(resumed).toEqual([1, 2])
    },
  },
]
