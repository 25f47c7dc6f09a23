import { expect } from 'vitest'
import { MissingKeyError, PartitionerError, SchemaError, TopicMismatchError } from '../../errors.js'
import { partitionFor } from '../../murmur2.js'
import { serdes } from '../../serdes.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { lastOffsets, orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'

/** What a producer writes, where it writes it, and what it refuses to write. */
export const produceCases: readonly ConformanceCase[] = [
  {
    name: 'round-trips keys, values, headers and timestamps, including unicode and binary keys and 1 MiB values',
    async run(h) {
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
        keys.map((key, i) => ({
          key,
          value: { note: `n${i} ✓` },
          headers: { trace: `t-${i}`, 'x-ünï': 'ça' },
          timestamp: sentAt + i,
        })),
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
    },
  },
  {
    name: 'spreads keyless records: round-robin evenly, sticky one partition per batch',
    async run(h) {
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
      for (let b = 0; b < 6; b++)
        batches.push(
          await sticky.send(
            topic,
            Array.from({ length: 5 }, (_, i) => ({ value: i })),
          ),
        )
      for (const batch of batches) expect(new Set(batch.map((m) => m.partition)).size).toBe(1)
      expect(new Set(batches.map((b) => b[0]!.partition)).size).toBe(6)
      const got = await h.readAll(topic, lastOffsets([...roundRobin, ...batches.flat()]))
      expect(got).toHaveLength(90)
      expect(got.every((m) => m.key === null)).toBe(true)
    },
  },
  {
    name: 'sends nothing of a batch with a bad record, and names the record',
    async run(h) {
      const topic = defineTopic(unique('atomic'), { partitions: 3, value: orderSchema })
      const client = await h.client()
      const producer = client.producer()
      const batch = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: { seq: i } }))
      const bad = [...batch.slice(0, 7), { key: 'k7', value: { seq: 'seven' } }, ...batch.slice(8)]
      const schemaError = await producer.send(topic, bad as typeof batch).catch((e: unknown) => e)
      expect(schemaError).toBeInstanceOf(SchemaError)
      expect((schemaError as SchemaError).index).toBe(7)
      expect((schemaError as SchemaError).message).toContain('seq')
      const keyError = await producer
        .send(topic, [...batch.slice(0, 3), { value: { seq: 3 } } as (typeof batch)[number]])
        .catch((e: unknown) => e)
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
    },
  },
  {
    name: 'resolves the partition count from the backend and reports a declaration that differs',
    async run(h) {
      const name = unique('mismatch')
      const declared3 = defineTopic(name, { partitions: 3 })
      const declared4 = defineTopic(name, { partitions: 4 })
      const client = await h.client()
      await client.admin().ensureTopics([declared3])
      const error = await (
        await h.client()
      )
        .producer()
        .send(declared4, { key: 'k', value: 1 })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TopicMismatchError)
      expect((error as Error).message).toMatch(/partitions=4.*partitions=3/)
      const following = await h.client({ topicMismatch: 'follow-backend' })
      const meta = await following.producer().send(declared4, { key: 'k', value: 1 })
      expect(meta.partition).toBe(partitionFor('k', 3))
    },
  },
  {
    name: 'checks every declaration of a name, also a second one in the same client after the first was used',
    async run(h) {
      const name = unique('redeclared')
      const client = await h.client()
      const producer = client.producer()
      await producer.send(defineTopic(name, { partitions: 4 }), { key: 'k', value: 1 })
      const wider = await producer
        .send(defineTopic(name, { partitions: 8 }), { key: 'k', value: 1 })
        .catch((e: unknown) => e)
      expect(wider).toBeInstanceOf(TopicMismatchError)
      expect((wider as Error).message).toMatch(/partitions=8.*partitions=4/)
      const compacted = defineTopic(name, { partitions: 4, cleanupPolicy: 'compact' })
      const policy = await producer.send(compacted, { key: 'k', value: 1 }).catch((e: unknown) => e)
      expect(policy).toBeInstanceOf(TopicMismatchError)
      expect((policy as Error).message).toMatch(/cleanupPolicy/)
      const subscribed = await client
        .consumer({ groupId: unique('g') })
        .subscribe(compacted, () => {})
        .catch((e: unknown) => e)
      expect(subscribed).toBeInstanceOf(TopicMismatchError)
    },
  },
]
