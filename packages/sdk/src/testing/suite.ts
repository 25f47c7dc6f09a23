import { afterEach, describe, expect, it } from 'vitest'
import { DEAD_LETTER_HEADERS, type Message } from '../consumer.js'
import { HandlerError, MissingKeyError, PartitionerError, SchemaError, TopicMismatchError } from '../errors.js'
import { partitionFor } from '../murmur2.js'
import { serdes } from '../serdes.js'
import type { StandardSchemaV1 } from '../schema.js'
import { defineTopic } from '../topic.js'
import { Harness, missing, orderViolations, sleep, unique, waitFor, type ConformanceOptions, type Handled } from './harness.js'

type Seq = { seq: number }
/** A hand-written Standard Schema, so the suite needs no schema library. */
const orderSchema: StandardSchemaV1<Seq> = {
  '~standard': {
    version: 1,
    vendor: 'keyed-conformance',
    validate: (v: unknown) =>
      typeof v === 'object' && v !== null && typeof (v as { seq?: unknown }).seq === 'number'
        ? { value: v as Seq }
        : { issues: [{ message: 'expected { seq: number }', path: ['seq'] }] },
  },
}

const lastOffsets = (metadata: readonly { partition: number; offset: string }[]) => {
  const out = new Map<number, string>()
  for (const m of metadata) out.set(m.partition, m.offset)
  return out
}

/** Registers the conformance tests for one backend. Call it at the top level of a vitest test file. */
export function describeConformance(options: ConformanceOptions): void {
  const h = new Harness(options)
  const t = h.timeoutMs
  const long = t * 4

  describe(`keyed conformance: ${options.name}`, () => {
    afterEach(() => h.closeAll())

    it('round-trips keys, values, headers and timestamps, including unicode and binary keys and 1 MiB values', async () => {
      const text = defineTopic(unique('roundtrip'), { partitions: 4, value: serdes.json<{ note: string }>() })
      const binary = defineTopic(unique('binary'), {
        key: serdes.bytes(),
        value: serdes.bytes(),
        partitions: 4,
        config: { 'max.message.bytes': String(4 * 1024 * 1024) },
      })
      const client = await h.client()
      const producer = client.producer()
      const keys = ['plain', 'klíč-ü-日本', '🙂 emoji', '']
      const sentAt = Date.now() - 5000
      const meta = await producer.send(
        text,
        keys.map((key, i) => ({ key, value: { note: `n${i} ✓` }, headers: { trace: `t-${i}`, 'x-ünï': 'ça' }, timestamp: sentAt + i })),
      )
      const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251)
      const rawKey = new Uint8Array([0, 255, 128, 7, 0])
      const bigMeta = await producer.send(binary, { key: rawKey, value: big })
      for (const [i, m] of meta.entries()) expect(m.partition).toBe(partitionFor(keys[i]!, 4))
      expect(bigMeta.partition).toBe(partitionFor(rawKey, 4))

      const got = await h.readAll(text, lastOffsets(meta))
      expect(got).toHaveLength(keys.length)
      for (const [i, key] of keys.entries()) {
        const m = got.find((g) => g.key === key)!
        expect(m.value).toEqual({ note: `n${i} ✓` })
        expect(m.headers).toMatchObject({ trace: `t-${i}`, 'x-ünï': 'ça' })
        expect(m.timestamp).toBe(sentAt + i)
        expect(m.partition).toBe(meta[i]!.partition)
        expect(m.offset).toBe(meta[i]!.offset)
      }
      const [bin] = await h.readAll(binary, lastOffsets([bigMeta]))
      expect(Buffer.from(bin!.key).equals(Buffer.from(rawKey))).toBe(true)
      expect(Buffer.from(bin!.value).equals(Buffer.from(big))).toBe(true)
    }, long)

    it('keeps per-key order and loses nothing with many keys over many partitions and several members', async () => {
      const topic = defineTopic(unique('order'), { partitions: 8, value: orderSchema })
      const group = unique('group')
      const events: Handled[] = []
      const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`)
      const perKey = 25
      const members = await Promise.all([0, 1, 2].map(() => h.client()))
      for (const [i, c] of members.entries()) {
        await c.consumer(h.consumerOptions(group)).subscribe(topic, async (m) => {
          expect(m.partition).toBe(partitionFor(m.key, 8))
          events.push({ member: `m${i}`, key: m.key, seq: m.value.seq, partition: m.partition })
          if (m.value.seq % 7 === 0) await sleep(1)
        })
      }
      const producer = (await h.client()).producer()
      for (let s = 0; s < perKey; s++) {
        const meta = await producer.send(topic, keys.map((key) => ({ key, value: { seq: s } })))
        for (const [i, m] of meta.entries()) expect(m.partition).toBe(partitionFor(keys[i]!, 8))
      }
      await waitFor('every record', t, () => missing(events, keys, perKey).length === 0)
      expect(orderViolations(events)).toEqual([])
      // A settled group hands each record to one member once, and each partition to one member.
      expect(events).toHaveLength(keys.length * perKey)
      const owners = new Map<number, Set<string>>()
      for (const e of events) owners.set(e.partition, (owners.get(e.partition) ?? new Set()).add(e.member))
      for (const [p, who] of owners) expect(who.size, `partition ${p} owners`).toBe(1)
      expect(new Set(events.map((e) => e.member)).size).toBeGreaterThan(1)
    }, long)

    it('spreads keyless records: round-robin evenly, sticky one partition per batch', async () => {
      const topic = defineTopic(unique('keyless'), { partitions: 6, ordering: 'none' })
      const client = await h.client()
      const roundRobin = await client.producer({ nullKeyStrategy: 'round-robin' }).send(
        topic,
        Array.from({ length: 60 }, (_, i) => ({ value: i })),
      )
      const counts = new Map<number, number>()
      for (const m of roundRobin) counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1)
      expect([...counts.values()]).toEqual([10, 10, 10, 10, 10, 10])

      const sticky = client.producer()
      const batches: { partition: number; offset: string }[][] = []
      for (let b = 0; b < 6; b++) batches.push(await sticky.send(topic, Array.from({ length: 5 }, (_, i) => ({ value: i }))))
      for (const batch of batches) expect(new Set(batch.map((m) => m.partition)).size).toBe(1)
      expect(new Set(batches.map((b) => b[0]!.partition)).size).toBe(6)
      const got = await h.readAll(topic, lastOffsets([...roundRobin, ...batches.flat()]))
      expect(got).toHaveLength(90)
      expect(got.every((m) => m.key === null)).toBe(true)
    }, long)

    it('sends nothing of a batch with a bad record, and names the record', async () => {
      const topic = defineTopic(unique('atomic'), { partitions: 3, value: orderSchema })
      const client = await h.client()
      const producer = client.producer()
      const batch = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: { seq: i } }))
      const bad = [...batch.slice(0, 7), { key: 'k7', value: { seq: 'seven' } }, ...batch.slice(8)]
      const schemaError = await producer.send(topic, bad as typeof batch).catch((e: unknown) => e)
      expect(schemaError).toBeInstanceOf(SchemaError)
      expect((schemaError as SchemaError).index).toBe(7)
      expect((schemaError as SchemaError).message).toContain('seq')
      const keyError = await producer.send(topic, [...batch.slice(0, 3), { value: { seq: 3 } } as (typeof batch)[number]]).catch((e: unknown) => e)
      expect(keyError).toBeInstanceOf(MissingKeyError)
      expect((keyError as MissingKeyError).index).toBe(3)
      const partitionError = await client
        .producer({ partitioner: ({ partitions }) => partitions })
        .send(topic, batch)
        .catch((e: unknown) => e)
      expect(partitionError).toBeInstanceOf(PartitionerError)
      // Only the marker was ever written: it is the first record of its partition.
      const marker = await producer.send(topic, { key: 'marker', value: { seq: 99 }, partition: 0 })
      const got = await h.readAll(topic, lastOffsets([marker]))
      expect(got.map((m) => m.key)).toEqual(['marker'])
    }, long)

    it('commits after the handler and resumes after the last commit', async () => {
      const topic = defineTopic(unique('resume'), { partitions: 3, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const keys = ['a', 'b', 'c', 'd', 'e', 'f']
      for (let s = 0; s < 10; s++) await producer.send(topic, keys.map((key) => ({ key, value: { seq: s } })))

      const first: Handled[] = []
      const c1 = await h.client()
      await c1.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void first.push({ member: '1', key: m.key, seq: m.value.seq, partition: m.partition }), { fromBeginning: true })
      await waitFor('the first 60 records', t, () => missing(first, keys, 10).length === 0)
      await c1.close()

      for (let s = 10; s < 15; s++) await producer.send(topic, keys.map((key) => ({ key, value: { seq: s } })))
      const second: Handled[] = []
      const c2 = await h.client()
      await c2.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void second.push({ member: '2', key: m.key, seq: m.value.seq, partition: m.partition }), { fromBeginning: true })
      await waitFor('the 30 new records', t, () => second.length >= 30)
      await sleep(200)
      // Committed records are not handled again, even with fromBeginning.
      expect(second.map((e) => e.seq).sort((a, b) => a - b)[0]).toBe(10)
      expect(second).toHaveLength(30)
      expect(orderViolations([...first, ...second])).toEqual([])
    }, long)

    it('finishes the handler in flight on close, commits it, and commits only what was asked with autoCommit off', async () => {
      const topic = defineTopic(unique('close'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(topic, Array.from({ length: 6 }, (_, s) => ({ key: 'k', value: { seq: s } })))
      let started = false
      let finished = false
      const c1 = await h.client()
      await c1.consumer(h.consumerOptions(group, { maxBatchSize: 1 })).subscribe(topic, async (m) => {
        if (m.value.seq !== 0) return new Promise<void>(() => {})
        started = true
        await sleep(300)
        finished = true
      }, { fromBeginning: true })
      await waitFor('the slow handler to start', t, () => started)
      const closing = c1.close()
      await closing
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
    }, long)

    it('stops on a handler that keeps failing, without committing the failed record', async () => {
      const topic = defineTopic(unique('stop'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      await producer.send(topic, Array.from({ length: 10 }, (_, s) => ({ key: 'k', value: { seq: s } })))
      const attempts: number[] = []
      const c1 = await h.client()
      const consumer = c1.consumer(h.consumerOptions(group, { retry: { attempts: 3, initialBackoffMs: 5 }, onError: () => {} }))
      const stopped = consumer.stopped()
      await consumer.subscribe(topic, (m) => {
        attempts.push(m.value.seq)
        if (m.value.seq === 4) throw new Error('payment service down')
      }, { fromBeginning: true })
      const error = await stopped.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(HandlerError)
      expect((error as HandlerError).message).toContain('payment service down')
      expect(attempts).toEqual([0, 1, 2, 3, 4, 4, 4])

      const resumed: number[] = []
      const c2 = await h.client()
      await c2.consumer(h.consumerOptions(group)).subscribe(topic, (m) => void resumed.push(m.value.seq))
      await waitFor('the rest after the failure', t, () => resumed.length >= 6)
      expect(resumed).toEqual([4, 5, 6, 7, 8, 9])
    }, long)

    it('routes records that keep failing to a dead-letter topic with the error and origin, and keeps going', async () => {
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
        .subscribe(strict, (m) => {
          if (m.value.seq === 1) throw new Error('cannot bill seq 1')
          handled.push(m.value.seq)
        }, { fromBeginning: true })
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
    }, long)

    it('hands partitions over when members join and leave under load, one member per partition at a time', async () => {
      const topic = defineTopic(unique('rebalance'), { partitions: 6, value: orderSchema })
      const group = unique('group')
      const keys = Array.from({ length: 24 }, (_, i) => `acct-${i}`)
      const events: Handled[] = []
      const busy = new Map<number, string>()
      const overlaps: string[] = []
      const handler = (member: string) => async (m: Message<typeof topic>) => {
        const holder = busy.get(m.partition)
        if (holder !== undefined && holder !== member) overlaps.push(`partition ${m.partition}: ${member} while ${holder}`)
        busy.set(m.partition, member)
        events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
        await sleep(m.value.seq % 3 === 0 ? 2 : 0)
        busy.delete(m.partition)
      }
      const join = async (name: string) => {
        const client = await h.client()
        await client.consumer(h.consumerOptions(group)).subscribe(topic, handler(name), { fromBeginning: true })
        return client
      }
      const producer = (await h.client()).producer()
      const a = await join('a')
      // Load runs until the last member took partitions, however long joins take on this backend.
      let rounds = 0
      let stop = false
      const load = (async () => {
        while (!stop || rounds < 10) {
          await producer.send(topic, keys.map((key) => ({ key, value: { seq: rounds } })))
          rounds++
          await sleep(10)
        }
      })()
      await waitFor('a to handle records', t, () => events.length > 50)
      await join('b')
      await waitFor('b to take partitions', t, () => events.some((e) => e.member === 'b'))
      await a.close()
      const afterClose = events.length
      await join('c')
      await waitFor('c to take partitions', t, () => events.some((e) => e.member === 'c'))
      stop = true
      await load
      await waitFor('every record after the rebalances', long / 2, () => missing(events, keys, rounds).length === 0)
      expect(overlaps).toEqual([])
      expect(orderViolations(events)).toEqual([])
      // A member that closed handles nothing more.
      expect(events.slice(afterClose).filter((e) => e.member === 'a')).toEqual([])
    }, long * 2)

    it('resolves the partition count from the backend and reports a declaration that differs', async () => {
      const name = unique('mismatch')
      const declared3 = defineTopic(name, { partitions: 3 })
      const declared4 = defineTopic(name, { partitions: 4 })
      const client = await h.client()
      await client.admin().ensureTopics([declared3])
      const error = await (await h.client()).producer().send(declared4, { key: 'k', value: 1 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TopicMismatchError)
      expect((error as Error).message).toMatch(/partitions=4.*partitions=3/)
      const following = await h.client({ topicMismatch: 'follow-backend' })
      const meta = await following.producer().send(declared4, { key: 'k', value: 1 })
      expect(meta.partition).toBe(partitionFor('k', 3))
    }, long)

    it('compacts: the latest value per key survives, and tombstones go after the delete retention (or, without compaction, every record stays)', async () => {
      const backend = await options.backend()
      const supported = backend.capabilities.compaction
      await backend.close()
      const topic = defineTopic(unique('compact'), {
        partitions: 2,
        cleanupPolicy: 'compact',
        deleteRetentionMs: 500,
        minCompactionLagMs: 0,
        value: serdes.json<{ theme: string }>(),
        config: { ...options.compactionConfig },
      })
      const client = await h.client()
      const producer = client.producer()
      const live: Message<typeof topic>[] = []
      await client.consumer(h.consumerOptions(unique('live'))).subscribe(topic, (m) => void live.push(m), { fromBeginning: true })
      const written = [
        ...(await producer.send(topic, [
          { key: 'user-1', value: { theme: 'dark' } },
          { key: 'user-2', value: { theme: 'light' } },
          { key: 'user-1', value: { theme: 'blue' } },
          { key: 'user-3', value: { theme: 'red' } },
        ])),
        await producer.tombstone(topic, 'user-3'),
      ]
      await waitFor('the tombstone to reach a live consumer', t, () => live.some((m) => m.key === 'user-3' && m.value === null))
      const view = async () => {
        // Kafka never cleans the active segment: a later append after segment.ms rolls it.
        await sleep(300)
        const flush = await producer.send(topic, [0, 1].map((p) => ({ key: `flush-${p}`, value: { theme: 'none' }, partition: p })))
        const ends = lastOffsets(flush)
        return (await h.readAll(topic, ends)).filter((m) => !m.key.startsWith('flush-'))
      }
      let seen: Message<typeof topic>[] = []
      if (!supported) {
        seen = await view()
        expect(seen.map((m) => m.value?.theme ?? null)).toEqual(['dark', 'light', 'blue', 'red', null].filter((v) => seen.some((m) => (m.value?.theme ?? null) === v)))
        expect(seen).toHaveLength(5)
        return
      }
      await waitFor('compaction and tombstone removal', long, async () => {
        seen = await view()
        return seen.length === 2
      })
      const latest = Object.fromEntries(seen.map((m) => [m.key, m.value?.theme]))
      expect(latest).toEqual({ 'user-1': 'blue', 'user-2': 'light' })
      // Compaction removes records but never renumbers the survivors.
      const blue = seen.find((m) => m.key === 'user-1')!
      expect(blue.offset).toBe(written[2]!.offset)
    }, long * 3)

    it('removes records past the time retention (or, without time retention, keeps them all)', async () => {
      const backend = await options.backend()
      const supported = backend.capabilities.timeRetention
      await backend.close()
      const topic = defineTopic(unique('retention'), { partitions: 1, retentionMs: 1500, value: orderSchema, config: { ...options.compactionConfig } })
      const producer = (await h.client()).producer()
      await producer.send(topic, [0, 1, 2].map((s) => ({ key: 'k', value: { seq: s } })))
      await sleep(2000)
      let seen: number[] = []
      if (!supported) {
        const fresh = await producer.send(topic, { key: 'k', value: { seq: 100 } })
        seen = (await h.readAll(topic, lastOffsets([fresh]))).map((m) => m.value.seq)
        expect(seen).toEqual([0, 1, 2, 100])
        return
      }
      await waitFor('the old records to expire', long, async () => {
        const fresh = await producer.send(topic, { key: 'k', value: { seq: 100 } })
        seen = (await h.readAll(topic, lastOffsets([fresh]))).map((m) => m.value.seq)
        return !seen.includes(0)
      })
      expect(seen.filter((s) => s < 100)).toEqual([])
    }, long * 3)
  })
}
