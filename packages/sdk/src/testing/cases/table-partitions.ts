import { expect } from 'vitest'
import { isKeyedError, NotOwnedError } from '../../errors.js'
import type { Table, TableOptions } from '../../table.js'
import type { ConformanceCase } from '../case.js'
import type { Harness } from '../harness.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'
import { latest, settingsTopic, sorted, type Setting } from './tables.js'

type SettingsTable = Table<ReturnType<typeof settingsTopic>>
type Write = { key: string; value: Setting | null }

/** What a member answers for a key: its value (undefined: absent), or the partition another member owns. */
function answer(table: SettingsTable, key: string): { value: Setting | undefined } | { elsewhere: number } | 'loading' {
  try {
    return { value: table.get(key) }
  } catch (error) {
    if (error instanceof NotOwnedError) return { elsewhere: error.partition }
    if (isKeyedError(error, 'NOT_READY')) return 'loading'
    throw error
  }
}

/** Every key is answered by exactly one member, the others name its partition; all partitions are owned, none twice. */
function split(tables: readonly SettingsTable[], keys: readonly string[], partitions: number): boolean {
  // Each member owns some: a cooperative rebalance gives a newcomer its share only in a second round.
  if (tables.some((t) => t.assignment().length === 0)) return false
  const owned = tables.flatMap((t) => t.assignment())
  if (owned.length !== partitions || new Set(owned).size !== partitions) return false
  return keys.every((key) => {
    const answers = tables.map((t) => answer(t, key))
    return answers.filter((a) => a !== 'loading' && 'value' in a).length === 1 && !answers.includes('loading')
  })
}

const rounds = (keys: number, from: number, count: number): Write[] =>
  Array.from({ length: count }, (_, r) =>
    Array.from({ length: keys }, (_, k) => ({ key: `user-${k}`, value: { v: (from + r) * 1000 + k } })),
  ).flat()

async function members(h: Harness, topic: ReturnType<typeof settingsTopic>, count: number) {
  const groupId = unique('table-group')
  const { sessionTimeoutMs, heartbeatIntervalMs } = h.options.consumer ?? {}
  const options: TableOptions = { groupId, sessionTimeoutMs, heartbeatIntervalMs, maxBatchSize: 20 }
  const tables: SettingsTable[] = []
  for (let i = 0; i < count; i++) {
    const table = (await h.client()).table(topic, options)
    await table.ready()
    tables.push(table)
  }
  return tables
}

/** client.table(topic, { groupId }): members of one group split the partitions, and a survivor takes over. */
export const tablePartitionCases: readonly ConformanceCase[] = [
  {
    name: 'partitioned table: two members of one group split the partitions, hold every key once, and name the partition of keys held elsewhere',
    needs: ['tables'],
    timeoutFactor: 8,
    async run(h) {
      const partitions = 4
      const topic = settingsTopic(unique('table-split'), partitions)
      const client = await h.client()
      const producer = client.producer()
      const writes = rounds(40, 0, 3)
      for (let k = 0; k < 40; k += 7) writes.push({ key: `user-${k}`, value: null })
      const placed = new Map<string, number>()
      for (let i = 0; i < writes.length; i += 40) {
        const sent = await producer.send(topic, writes.slice(i, i + 40))
        sent.forEach((m, j) => placed.set(writes[i + j]!.key, m.partition))
      }
      const expected = latest(writes)
      const keys = [...placed.keys()]
      const [a, b] = await members(h, topic, 2)
      await waitFor('the two members to split the partitions and load them', h.timeoutMs * 3, () =>
        split([a!, b!], keys, partitions),
      )
      expect(a!.assignment().length).toBeGreaterThan(0)
      expect(b!.assignment().length).toBeGreaterThan(0)
      for (const key of keys) {
        // Keys are located exactly where the producer put them.
        expect(a!.partitionOf(key)).toBe(placed.get(key))
        const [owner, other] = a!.owns(key) ? [a!, b!] : [b!, a!]
        expect(owner.assignment()).toContain(placed.get(key))
        expect(owner.get(key)).toEqual(expected.get(key))
        expect(owner.has(key)).toBe(expected.has(key))
        let thrown: unknown
        try {
          other.get(key)
        } catch (error) {
          thrown = error
        }
        expect(thrown).toBeInstanceOf(NotOwnedError)
        expect((thrown as NotOwnedError).partition).toBe(placed.get(key))
        expect((thrown as NotOwnedError).retriable).toBe(true)
        expect((thrown as NotOwnedError).message).toContain(`partition ${placed.get(key)}`)
        expect(() => other.has(key)).toThrow(NotOwnedError)
      }
      // Together they hold every key exactly once.
      expect(sorted([...a!, ...b!])).toEqual(sorted(expected))
      expect(a!.size + b!.size).toBe(expected.size)
    },
  },
  {
    name: 'partitioned table: when a member closes, the survivor takes over its partitions and holds every key with the latest values',
    needs: ['tables'],
    timeoutFactor: 10,
    async run(h) {
      const partitions = 4
      const topic = settingsTopic(unique('table-takeover'), partitions)
      const client = await h.client()
      const producer = client.producer()
      const writes = rounds(40, 0, 2)
      const send = async (batch: Write[]) => {
        for (let i = 0; i < batch.length; i += 40) await producer.send(topic, batch.slice(i, i + 40))
        writes.push(...batch)
      }
      await producer.send(topic, writes)
      const keys = [...latest(writes).keys()]
      const [a, b] = await members(h, topic, 2)
      await waitFor('the two members to split the partitions and load them', h.timeoutMs * 3, () =>
        split([a!, b!], keys, partitions),
      )
      // Changes while both hold their partitions, tombstones among them.
      await send([...rounds(40, 2, 1), ...keys.filter((_, i) => i % 5 === 0).map((key) => ({ key, value: null }))])
      const closing = Date.now()
      await b!.close()
      // Leaving the group and stopping its readers is bounded, its parked group batches released.
      expect(Date.now() - closing).toBeLessThan(h.timeoutMs)
      // And while the survivor takes over.
      await send([...rounds(20, 3, 1), ...keys.filter((_, i) => i % 9 === 1).map((key) => ({ key, value: null }))])
      const expected = latest(writes)
      await waitFor('the survivor to own every partition and hold the latest values', h.timeoutMs * 3, () => {
        if (a!.assignment().length !== partitions) return false
        return keys.every((key) => {
          const got = answer(a!, key)
          return got !== 'loading' && 'value' in got && got.value?.v === expected.get(key)?.v
        })
      })
      expect(a!.assignment()).toEqual([0, 1, 2, 3])
      expect(sorted(a!)).toEqual(sorted(expected))
      for (const key of keys) expect(a!.has(key)).toBe(expected.has(key))
    },
  },
]
