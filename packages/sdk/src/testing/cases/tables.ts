import { expect } from 'vitest'
import { ClosedError, InvalidRecordError, NotReadyError, type KeyedError } from '../../errors.js'
import type { StandardSchemaV1 } from '../../schema.js'
import { serdes } from '../../serdes.js'
import type { TableChange } from '../../table.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { numberFieldSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'

export type Setting = { v: number }
const settingSchema: StandardSchemaV1<Setting> = numberFieldSchema('v')

/** Compaction waits a long minCompactionLagMs unless a case asks for it: a superseded record compacted before a reader reached it is, rightly, never seen. */
export const settingsTopic = (
  name: string,
  partitions: number,
  extra: { deleteRetentionMs?: number; minCompactionLagMs?: number; config?: Record<string, string> } = {},
) =>
  defineTopic(name, {
    partitions,
    cleanupPolicy: 'compact',
    value: settingSchema,
    minCompactionLagMs: 600_000,
    ...extra,
  })

/** The latest value per key of what was written, tombstones deleting. */
export function latest(writes: ReadonlyArray<{ key: string; value: Setting | null }>): Map<string, Setting> {
  const out = new Map<string, Setting>()
  for (const w of writes) w.value === null ? out.delete(w.key) : out.set(w.key, w.value)
  return out
}

export const sorted = <V>(entries: Iterable<[string, V]>) =>
  [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** client.table(): bootstrap to the end offsets at start, tombstones, invalid records, compaction meanwhile, following. */
export const tableCases: readonly ConformanceCase[] = [
  {
    name: 'table: ready means every record up to the end offsets at start was applied, and tombstones delete',
    needs: ['tables'],
    timeoutFactor: 4,
    async run(h) {
      const topic = settingsTopic(unique('table-ready'), 3)
      const client = await h.client()
      const producer = client.producer()
      const writes: Array<{ key: string; value: Setting | null }> = []
      for (let round = 0; round < 5; round++)
        writes.push(...Array.from({ length: 60 }, (_, k) => ({ key: `user-${k}`, value: { v: round * 100 + k } })))
      // Deleted keys, and deleted keys written again.
      for (let k = 0; k < 10; k++) writes.push({ key: `user-${k}`, value: null })
      for (let k = 0; k < 5; k++) writes.push({ key: `user-${k}`, value: { v: 1000 + k } })
      for (let i = 0; i < writes.length; i += 50) await producer.send(topic, writes.slice(i, i + 50))
      const expected = latest(writes)

      // Small batches: partitions load over many steps, so ready cannot happen to coincide with the last one.
      const table = client.table(topic, { maxBatchSize: 10 })
      expect(() => table.get('user-20')).toThrow(NotReadyError)
      // Records written while the table loads are after its start: ready does not depend on them.
      let more = true
      let late = 0
      const writing = (async () => {
        while (more && late < 2000) {
          await producer.send(
            topic,
            Array.from({ length: 20 }, (_, i) => ({ key: `late-${(late + i) % 30}`, value: { v: late + i } })),
          )
          late += 20
        }
      })()
      await table.ready()
      // Taken before anything else runs, so records applied after ready cannot make up for missing ones.
      const held = sorted([...table.entries()].filter(([k]) => !k.startsWith('late-')))
      more = false
      await writing
      expect(held).toEqual(sorted(expected))
      for (const [key, value] of expected) {
        expect(table.get(key)).toEqual(value)
        expect(table.has(key)).toBe(true)
      }
      for (let k = 5; k < 10; k++) {
        expect(table.has(`user-${k}`)).toBe(false)
        expect(table.get(`user-${k}`)).toBeUndefined()
      }
      expect([...table.keys()].filter((k) => !k.startsWith('late-')).sort()).toEqual([...expected.keys()].sort())
      expect([...table].length).toBe(table.size)
      expect(table.size).toBeGreaterThanOrEqual(expected.size)
      await table.close()
      expect(() => table.get('user-20')).toThrow(ClosedError)
      // Partitions that never had a record are caught up at once.
      const empty = client.table(settingsTopic(unique('table-empty'), 2))
      await empty.ready()
      expect(empty.size).toBe(0)
    },
  },
  {
    name: 'table: a record that does not decode or validate is reported with its partition and offset, and the previous value stays',
    needs: ['tables'],
    timeoutFactor: 4,
    async run(h) {
      const name = unique('table-invalid')
      const strict = settingsTopic(name, 2)
      const raw = defineTopic(name, {
        partitions: 2,
        cleanupPolicy: 'compact',
        value: serdes.bytes(),
        minCompactionLagMs: 600_000,
      })
      const client = await h.client()
      const producer = client.producer()
      const bytes = (text: string) => Buffer.from(text, 'utf8')
      const first = await producer.send(raw, [
        { key: 'a', value: bytes('{"v":1}') },
        { key: 'a', value: bytes('{"v":"one"}') },
        { key: 'b', value: bytes('{"v":2}') },
        { key: 'b', value: bytes('not json') },
      ])
      const errors: KeyedError[] = []
      const table = client.table(strict, { onError: (e) => void errors.push(e) })
      await table.ready()
      expect(table.get('a')).toEqual({ v: 1 })
      expect(table.get('b')).toEqual({ v: 2 })
      expect(errors.map((e) => e instanceof InvalidRecordError && [e.partition, e.offset])).toEqual(
        expect.arrayContaining([
          [first[1]!.partition, first[1]!.offset],
          [first[3]!.partition, first[3]!.offset],
        ]),
      )
      expect(errors).toHaveLength(2)
      expect(errors[0]!.message).toMatch(/skipped/)
      // After ready too: the bad record is reported, the good one after it applies.
      const later = await producer.send(raw, [
        { key: 'a', value: bytes('{"wrong":true}') },
        { key: 'a', value: bytes('{"v":3}') },
      ])
      await waitFor('the good record after the bad one', h.timeoutMs, () => table.get('a')?.v === 3)
      expect(errors).toHaveLength(3)
      expect((errors[2] as InvalidRecordError).offset).toBe(later[0]!.offset)
    },
  },
  {
    name: 'table: compaction running while tables bootstrap changes nothing in their result',
    needs: ['tables', 'compaction'],
    timeoutFactor: 12,
    async run(h) {
      // Tombstones outlive every bootstrap here: a tombstone removed before a slow reader reached it is a delete that reader never sees (as on Kafka).
      const topic = settingsTopic(unique('table-compact'), 2, {
        deleteRetentionMs: 600_000,
        minCompactionLagMs: 0,
        config: { ...h.options.compactionConfig, 'delete.retention.ms': '600000' },
      })
      const client = await h.client()
      const producer = client.producer()
      const writes: Array<{ key: string; value: Setting | null }> = []
      for (let round = 0; round < 30; round++)
        writes.push(...Array.from({ length: 20 }, (_, k) => ({ key: `k-${k}`, value: { v: round * 100 + k } })))
      for (let k = 0; k < 5; k++) writes.push({ key: `k-${k}`, value: null })
      for (let i = 0; i < writes.length; i += 40) await producer.send(topic, writes.slice(i, i + 40))
      const expected = sorted(latest(writes))
      let bootstraps = 0
      let compactedBefore = false
      const deadline = Date.now() + h.timeoutMs * 8
      // Bootstraps before, during and after the cleaner's passes; small batches make each one take many steps.
      while (true) {
        const table = client.table(topic, { maxBatchSize: 5 })
        await table.ready()
        expect(sorted([...table].filter(([k]) => !k.startsWith('flush-')))).toEqual(expected)
        await table.close()
        bootstraps++
        if (compactedBefore || Date.now() > deadline) break
        // Kafka cleans only closed segments: an append after segment.ms rolls the active one.
        const flush = await producer.send(
          topic,
          [0, 1].map((p) => ({ key: `flush-${p}`, value: { v: bootstraps }, partition: p })),
        )
        const ends = new Map(flush.map((m) => [m.partition, m.offset]))
        const remaining = (await h.readAll(topic, ends)).filter((m) => !m.key.startsWith('flush-')).length
        compactedBefore = remaining < writes.length
      }
      expect(compactedBefore, 'the cleaner compacted the topic within the time limit').toBe(true)
      expect(bootstraps).toBeGreaterThan(1)
    },
  },
  {
    name: 'table: follows records written after ready, in order, and tells subscribers each change with the previous value',
    needs: ['tables'],
    timeoutFactor: 4,
    async run(h) {
      const topic = settingsTopic(unique('table-follow'), 3)
      const client = await h.client()
      const producer = client.producer()
      const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { v: 0 } })),
      )
      const table = client.table(topic)
      const changes: Array<TableChange<typeof topic>> = []
      const unsubscribe = table.subscribe((c) => void changes.push(c))
      await table.ready()
      // Subscribers hear changes after ready, never the bootstrap.
      expect(changes).toEqual([])
      const rounds = 40
      for (let seq = 1; seq <= rounds; seq++) {
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { v: seq } })),
        )
        if (seq === 20) await producer.tombstone(topic, 'gamma')
      }
      await waitFor('the last round', h.timeoutMs, () => keys.every((k) => table.get(k)?.v === rounds))
      for (const key of keys) {
        const mine = changes.filter((c) => c.key === key)
        const expected: Array<{ value: number | null; previous: number | null }> = []
        let previous: number | null = 0
        for (let seq = 1; seq <= rounds; seq++) {
          expected.push({ value: seq, previous })
          previous = seq
          if (key === 'gamma' && seq === 20) {
            expected.push({ value: null, previous: 20 })
            previous = null
          }
        }
        expect(
          mine.map((c) => ({ value: c.value?.v ?? null, previous: c.previous?.v ?? null })),
          key,
        ).toEqual(expected)
      }
      unsubscribe()
      const before = changes.length
      await producer.send(topic, { key: 'alpha', value: { v: 99 } })
      await waitFor('the update after unsubscribe', h.timeoutMs, () => table.get('alpha')?.v === 99)
      expect(changes).toHaveLength(before)
      const closing = Date.now()
      await table.close()
      expect(Date.now() - closing).toBeLessThan(h.timeoutMs)
    },
  },
]
