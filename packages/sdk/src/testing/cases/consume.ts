import { expect } from 'vitest'
import { DEAD_LETTER_HEADERS } from '../../consumer.js'
import type { OutgoingRecord } from '../../backend/contract.js'
import { HandlerError, isKeyedError, type KeyedError } from '../../errors.js'
import { partitionFor } from '../../murmur2.js'
import { serdes } from '../../serdes.js'
import { defineTopic } from '../../topic.js'
import { missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** One consumer's commits, close, failures and dead letters. */
export const consumeCases: readonly ConformanceCase[] = [
  {
    name: 'a close during a retry backoff resolves at once, leaving the record uncommitted for the group',
    async run(h) {
      const topic = defineTopic(unique('close-backoff'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(topic, { key: 'k', value: { seq: 0 } })
      let tries = 0
      const consumer = (await h.client()).consumer(
        h.consumerOptions(group, { retry: { attempts: 3, initialBackoffMs: 8000 }, closeTimeoutMs: 4000 }),
      )
      await consumer.subscribe(
        topic,
        () => {
          tries++
          throw new Error('downstream is down')
        },
        { fromBeginning: true },
      )
      await waitFor('the first try', h.timeoutMs, () => tries === 1)
      const started = Date.now()
      await consumer.close() // resolves: nothing is running, the record waits for a retry that will not come
      expect(Date.now() - started, 'close did not wait out the 8 s backoff').toBeLessThan(3000)
      expect(tries).toBe(1)
      // Not committed: the group hands it over again.
      const again: number[] = []
      await (
        await h.client()
      )
        .consumer(h.consumerOptions(group))
        .subscribe(topic, (m) => void again.push(m.value.seq), { fromBeginning: true })
      await waitFor('the record again', h.timeoutMs, () => again.length === 1)
    },
  },
  {
    name: 'a new group without fromBeginning gets every record sent once subscribe() resolved, and none sent before',
    async run(h) {
      const topic = defineTopic(unique('from-end'), { partitions: 3, value: orderSchema })
      const keys = Array.from({ length: 30 }, (_, i) => `k-${i}`)
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { seq: 0 } })),
      )
      const events: Handled[] = []
      await (
        await h.client()
      )
        .consumer(h.consumerOptions(unique('group')))
        .subscribe(
          topic,
          (m) => void events.push({ member: 'm', key: m.key, seq: m.value.seq, partition: m.partition }),
        )
      // Sent the moment subscribe() resolved: the group's start must already be fixed on every partition.
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { seq: 1 } })),
      )
      await waitFor(
        'every record sent after the join',
        h.timeoutMs,
        () => events.filter((e) => e.seq === 1).length >= keys.length,
      )
      await sleep(200)
      expect(events.filter((e) => e.seq === 0)).toEqual([])
      expect(events).toHaveLength(keys.length)
    },
  },
  {
    name: 'commits after the handler and resumes after the last commit',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('resume'), { partitions: 3, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const keys = ['a', 'b', 'c', 'd', 'e', 'f']
      for (let s = 0; s < 10; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )

      const first: Handled[] = []
      const c1 = await h.client()
      await c1
        .consumer(h.consumerOptions(group))
        .subscribe(
          topic,
          (m) => void first.push({ member: '1', key: m.key, seq: m.value.seq, partition: m.partition }),
          { fromBeginning: true },
        )
      await waitFor('the first 60 records', t, () => missing(first, keys, 10).length === 0)
      await c1.close()

      for (let s = 10; s < 15; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
      const second: Handled[] = []
      const c2 = await h.client()
      await c2
        .consumer(h.consumerOptions(group))
        .subscribe(
          topic,
          (m) => void second.push({ member: '2', key: m.key, seq: m.value.seq, partition: m.partition }),
          { fromBeginning: true },
        )
      await waitFor('the 30 new records', t, () => second.length >= 30)
      await sleep(200)
      // Committed records are not handled again, even with fromBeginning.
      expect(second.map((e) => e.seq).sort((a, b) => a - b)[0]).toBe(10)
      expect(second).toHaveLength(30)
      expect(orderViolations([...first, ...second])).toEqual([])
    },
  },
  {
    name: 'finishes the handler in flight on close, commits it, and commits only what was asked with autoCommit off',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('close'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        Array.from({ length: 6 }, (_, s) => ({ key: 'k', value: { seq: s } })),
      )
      let started = false
      let finished = false
      const c1 = await h.client()
      await c1.consumer(h.consumerOptions(group, { maxBatchSize: 1 })).subscribe(
        topic,
        async (m) => {
          if (m.value.seq !== 0) return new Promise<void>(() => {})
          started = true
          await sleep(300)
          finished = true
        },
        { fromBeginning: true },
      )
      await waitFor('the slow handler to start', t, () => started)
      await c1.close()
      expect(finished).toBe(true)

      const manual: number[] = []
      const c2 = await h.client()
      const consumer = c2.consumer(h.consumerOptions(group, { autoCommit: false }))
      await consumer.subscribe(topic, async (m) => {
        manual.push(m.value.seq)
        if (m.value.seq === 2) await consumer.commit(m)
      })
      await waitFor('records after the committed one', t, () => manual.length >= 5)
      expect(manual).toEqual([1, 2, 3, 4, 5])
      await c2.close()

      const after: number[] = []
      const c3 = await h.client()
      await c3.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void after.push(m.value.seq))
      await waitFor('redelivery after the manual commit', t, () => after.length >= 3)
      expect(after).toEqual([3, 4, 5])
    },
  },
  {
    name: 'stops on a handler that keeps failing, without committing the failed record',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('stop'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        Array.from({ length: 10 }, (_, s) => ({ key: 'k', value: { seq: s } })),
      )
      const attempts: number[] = []
      const c1 = await h.client()
      const consumer = c1.consumer(
        h.consumerOptions(group, { retry: { attempts: 3, initialBackoffMs: 5 }, onError: () => {} }),
      )
      const stopped = consumer.stopped()
      await consumer.subscribe(
        topic,
        (m) => {
          attempts.push(m.value.seq)
          if (m.value.seq === 4) throw new Error('payment service down')
        },
        { fromBeginning: true },
      )
      const error = await stopped.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(HandlerError)
      expect((error as HandlerError).message).toContain('payment service down')
      expect(attempts).toEqual([0, 1, 2, 3, 4, 4, 4])

      const resumed: number[] = []
      const c2 = await h.client()
      await c2.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void resumed.push(m.value.seq))
      await waitFor('the rest after the failure', t, () => resumed.length >= 6)
      expect(resumed).toEqual([4, 5, 6, 7, 8, 9])
    },
  },
  {
    name: 'routes records that keep failing to a dead-letter topic with the error and origin, and keeps going',
    async run(h) {
      const t = h.timeoutMs
      const name = unique('dlq')
      const loose = defineTopic(name, { partitions: 2, value: serdes.json<unknown>() })
      const strict = defineTopic(name, { partitions: 2, value: orderSchema })
      const dlq = defineTopic(`${name}.dlq`, { partitions: 2, value: serdes.bytes() })
      const producer = (await h.client()).producer()
      const meta = await producer.send(loose, [
        { key: 'k', value: { seq: 0 } },
        { key: 'k', value: { seq: 1 } },
        { key: 'k', value: { wrong: true } },
        { key: 'k', value: { seq: 3 } },
      ])
      const handled: number[] = []
      const client = await h.client()
      await client
        .consumer(h.consumerOptions(unique('group'), { deadLetter: true, retry: { attempts: 2, initialBackoffMs: 1 } }))
        .subscribe(
          strict,
          (m) => {
            if (m.value.seq === 1) throw new Error('cannot bill seq 1')
            handled.push(m.value.seq)
          },
          { fromBeginning: true },
        )
      await waitFor('the records after the failures', t, () => handled.includes(3))
      expect(handled).toEqual([0, 3])
      const dead = await h.readCount(dlq, 2)
      expect(dead).toHaveLength(2)
      // Same key, same hash: dead letters of one key stay together and in order.
      expect(dead.map((m) => m.partition)).toEqual([partitionFor('k', 2), partitionFor('k', 2)])
      const [handlerFailure, invalid] = dead
      expect(handlerFailure!.key).toBe('k')
      expect(handlerFailure!.headers[DEAD_LETTER_HEADERS.error]).toContain('cannot bill seq 1')
      expect(handlerFailure!.headers[DEAD_LETTER_HEADERS.stage]).toBe('handler')
      expect(handlerFailure!.headers[DEAD_LETTER_HEADERS.topic]).toBe(name)
      expect(handlerFailure!.headers[DEAD_LETTER_HEADERS.offset]).toBe(meta[1]!.offset)
      expect(handlerFailure!.headers[DEAD_LETTER_HEADERS.attempts]).toBe('2')
      expect(JSON.parse(Buffer.from(handlerFailure!.value).toString())).toEqual({ seq: 1 })
      expect(invalid!.headers[DEAD_LETTER_HEADERS.stage]).toBe('validate')
      expect(invalid!.headers[DEAD_LETTER_HEADERS.offset]).toBe(meta[2]!.offset)
    },
  },
  // Records other clients wrote, and closes that must end (issue 8 items 5 and 8).
  {
    name: 'never hands a keyless record of a per-key topic, or a null value of an uncompacted one, to a handler: dead letter or stop',
    async run(h) {
      const t = h.timeoutMs
      const perKey = defineTopic(unique('nullkey'), { partitions: 1, value: orderSchema })
      const compacted = defineTopic(unique('nullkey-compact'), {
        partitions: 1,
        cleanupPolicy: 'compact',
        value: orderSchema,
      })
      const client = await h.client()
      await client.admin().ensureTopics([perKey, compacted])
      // The backend's own producer, as another client would write: no key, or a null value where the topic allows none.
      const raw = client.backend.producer({
        idempotent: true,
        acks: 'all',
        maxInFlight: 1,
        retries: 1,
        clientId: undefined,
      })
      const bytes = (seq: number) => Buffer.from(JSON.stringify({ seq }))
      const record = (topic: string, key: string | null, value: Uint8Array | null): OutgoingRecord => ({
        topic,
        partition: 0,
        key: key === null ? null : Buffer.from(key),
        value,
        headers: {},
        timestamp: Date.now(),
      })
      const written = await raw.send([
        record(perKey.name, 'k', bytes(0)),
        record(perKey.name, null, bytes(1)),
        record(perKey.name, 'k', null),
        record(perKey.name, 'k', bytes(3)),
      ])
      // (A keyless record on a compacted topic is refused by Kafka's broker itself; the memory tests cover it.)
      // Two keys, so compaction cannot remove the tombstone before it is read.
      await raw.send([record(compacted.name, 'gone', null), record(compacted.name, 'k', bytes(2))])
      await raw.close()

      const handled: Array<{ key: unknown; seq: number | null }> = []
      const consumer = client.consumer(h.consumerOptions(unique('group'), { deadLetter: true }))
      await consumer.subscribe(perKey, (m) => void handled.push({ key: m.key, seq: m.value.seq }), {
        fromBeginning: true,
      })
      await consumer.subscribe(compacted, (m) => void handled.push({ key: m.key, seq: m.value?.seq ?? null }), {
        fromBeginning: true,
      })
      await waitFor('the good records and the tombstone', t, () => handled.length >= 4)
      expect(handled.filter((m) => m.seq !== null && m.seq !== 2)).toEqual([
        { key: 'k', seq: 0 },
        { key: 'k', seq: 3 },
      ])
      // A tombstone is a record of a compacted topic.
      expect(handled.filter((m) => m.seq === null || m.seq === 2)).toEqual([
        { key: 'gone', seq: null },
        { key: 'k', seq: 2 },
      ])
      const dead = await h.readCount(
        defineTopic(`${perKey.name}.dlq`, { partitions: 1, ordering: 'none', value: serdes.bytes() }),
        2,
      )
      expect(dead.map((m) => m.headers[DEAD_LETTER_HEADERS.offset])).toEqual([written[1]!.offset, written[2]!.offset])
      expect(dead.map((m) => m.headers[DEAD_LETTER_HEADERS.stage])).toEqual(['validate', 'validate'])
      expect(dead[0]!.headers[DEAD_LETTER_HEADERS.error]).toMatch(/has no key.*ordered per key/)
      expect(dead[1]!.headers[DEAD_LETTER_HEADERS.error]).toMatch(/null \(a tombstone\).*not compacted/)
      // A dead-letter topic is never compacted, so a null value travels as an empty one, marked.
      expect(dead[1]!.value).toHaveLength(0)
      expect(dead[1]!.headers[DEAD_LETTER_HEADERS.nullValue]).toBe('true')
      // The text says what happened on this side: a record read, not a batch sent.
      for (const d of dead) expect(d.headers[DEAD_LETTER_HEADERS.error]).not.toMatch(/sent/)

      // Without a dead-letter topic the consumer stops on the keyless record and does not commit it.
      const stopping = (await h.client()).consumer(h.consumerOptions(unique('group'), { onError: () => {} }))
      const seen: number[] = []
      const stopped = stopping.stopped()
      await stopping.subscribe(perKey, (m) => void seen.push(m.value.seq), { fromBeginning: true })
      const error = (await stopped.catch((e: unknown) => e)) as KeyedError
      expect(isKeyedError(error, 'MISSING_KEY')).toBe(true)
      expect(error).toMatchObject({ direction: 'receive', partition: 0, offset: written[1]!.offset })
      expect(seen).toEqual([0])
    },
  },
  {
    name: 'bounds close() by closeTimeoutMs while a handler never settles, leaves that record uncommitted, and gives every close() the same outcome',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('hung'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        [0, 1, 2].map((s) => ({ key: 'k', value: { seq: s } })),
      )
      let hung = false
      const c1 = await h.client()
      const closeTimeoutMs = 1500
      const consumer = c1.consumer(h.consumerOptions(group, { closeTimeoutMs }))
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
      const started = Date.now()
      const first = consumer.close()
      const second = consumer.close()
      expect(second).toBe(first)
      const error = (await first.catch((e: unknown) => e)) as KeyedError
      const elapsed = Date.now() - started
      expect(error.message).toMatch(/closeTimeoutMs/)
      expect(isKeyedError(error, 'TIMEOUT')).toBe(true)
      expect(error.message).toContain(`${topic.name}[0]@`)
      // Handlers get all but a reserve (a fifth here) in which the finished prefix is committed and the member leaves.
      expect(elapsed).toBeGreaterThanOrEqual(closeTimeoutMs * 0.8 - 50)
      // Bounded: within the timeout plus scheduling slack on a loaded machine, not the 45 s it once hung.
      expect(elapsed).toBeLessThan(closeTimeoutMs + 1000)
      await expect(consumer.stopped()).rejects.toBe(error)

      // seq 0 was committed before the close gave up; seq 1 was not, so the group hands it out again.
      const resumed: number[] = []
      const c2 = await h.client()
      await c2.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void resumed.push(m.value.seq))
      await waitFor('redelivery of the unfinished record', t, () => resumed.length >= 2)
      expect(resumed).toEqual([1, 2])
    },
  },
]
