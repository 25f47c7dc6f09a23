import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type {
  Backend,
  BackendReader,
  GroupMemberOptions,
  PartitionBatch,
  PartitionReaderOptions,
} from '../src/backend/index.js'
import { partitionFor } from '../src/murmur2.js'
import { createClient, defineTopic, NotOwnedError, NotReadyError, type TableChange } from '../src/index.js'

const settings = defineTopic('t', {
  key: z.string(),
  value: z.object({ v: z.number() }),
  partitions: 2,
  cleanupPolicy: 'compact',
})
/** A key of each partition, found as the producer places keys. */
const keyOf = (partition: number) => {
  for (let i = 0; ; i++) if (partitionFor(Buffer.from(`k${i}`), 2) === partition) return `k${i}`
}
const [k0, k1] = [keyOf(0), keyOf(1)]
const json = (v: number) => Buffer.from(JSON.stringify({ v }))
const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

/** A group member the test assigns and revokes by hand, and one reader per partition it feeds by hand. */
function groupBackend(initial: number[], { loadByHand = false } = {}) {
  let member: GroupMemberOptions | undefined
  const readers: Array<PartitionReaderOptions & { closed: boolean }> = []
  let left = false
  let offset = 0
  const backend: Backend = {
    name: 'fake',
    capabilities: { compaction: true, timeRetention: true },
    describeTopic: async (name) => ({ name, partitions: 2, cleanupPolicy: 'compact' }),
    createTopic: async () => {},
    producer: () => ({ send: async () => [], close: async () => {} }),
    consumer(options) {
      member = options
      return {
        async start() {
          options.onAssigned?.(initial.map((partition) => ({ topic: 't', partition })))
        },
        commit: async () => {
          throw new Error('a table never commits')
        },
        async close() {
          left = true
        },
      }
    },
    endOffsets: async () => [0, 1].map((partition) => ({ partition, offset: '0' })),
    reader(options): BackendReader {
      const entry = { ...options, closed: false }
      readers.push(entry)
      return {
        start: async () =>
          void options.onBatch({ topic: 't', partition: options.partitions[0]!, records: [], caughtUp: !loadByHand }),
        close: async () => void (entry.closed = true),
      }
    },
    close: async () => {},
  }
  const tps = (partitions: number[]) => partitions.map((partition) => ({ topic: 't', partition }))
  return {
    backend,
    readers,
    left: () => left,
    member: () => member!,
    assign: (partitions: number[]) => member!.onAssigned!(tps(partitions)),
    revoke: (partitions: number[]) => member!.onRevoked!(tps(partitions)),
    /** Says the partition's newest reader reached its end. */
    caughtUp: (partition: number) =>
      readers
        .filter((r) => r.partitions[0] === partition)
        .at(-1)!
        .onBatch({ topic: 't', partition, records: [], caughtUp: true }),
    /** Delivers a record to the newest open reader of the partition. */
    async write(partition: number, key: string, v: number | null) {
      const reader = readers.filter((r) => r.partitions[0] === partition && !r.closed).at(-1)!
      const record = {
        topic: 't',
        partition,
        offset: String(offset++),
        key: Buffer.from(key),
        value: v === null ? null : json(v),
        headers: {},
        timestamp: 0,
      }
      await reader.onBatch({ topic: 't', partition, records: [record], caughtUp: true })
    },
  }
}

describe('partitioned table (groupId)', () => {
  it('joins the group with its own batches parked, never committing, and leaves it on close', async () => {
    const g = groupBackend([0, 1])
    const table = createClient({ backend: g.backend }).table(settings, { groupId: 'g' })
    await table.ready()
    expect(g.member().subscriptions).toEqual([{ topic: 't', fromBeginning: false }])
    expect(g.member().maxBatchSize).toBe(1)
    let active = true
    let settled = false
    const batch: PartitionBatch = {
      topic: 't',
      partition: 0,
      records: [],
      isActive: () => active,
      heartbeat: async () => {},
    }
    void g
      .member()
      .onBatch(batch)
      .then(() => (settled = true))
    await new Promise((r) => setTimeout(r, 250))
    expect(settled).toBe(false)
    active = false
    await new Promise((r) => setTimeout(r, 250))
    expect(settled).toBe(true)
    await table.close()
    expect(g.left()).toBe(true)
    expect(g.readers.every((r) => r.closed)).toBe(true)
  })

  it('keeps a revoked partition as a standby and serves it again at once when an eager rebalance hands it back', async () => {
    const g = groupBackend([0, 1])
    const table = createClient({ backend: g.backend }).table(settings, { groupId: 'g' })
    await table.ready()
    await g.write(0, k0, 1)
    await g.write(1, k1, 1)
    const heard: Array<TableChange<typeof settings>> = []
    table.subscribe((c) => void heard.push(c))
    g.revoke([0, 1])
    expect(() => table.get(k0)).toThrow(NotOwnedError)
    // Applied while a standby, heard once it is back.
    await g.write(0, k0, 2)
    expect(heard).toEqual([])
    g.assign([0])
    expect(table.get(k0)).toEqual({ v: 2 })
    expect(heard.map((c) => [c.key, c.value, c.previous])).toEqual([[k0, { v: 2 }, { v: 1 }]])
    // Handed back, not read again; partition 1, left out of the assignment, is someone else's: dropped.
    expect(g.readers.filter((r) => r.partitions[0] === 0)).toHaveLength(1)
    await tick()
    expect(g.readers.find((r) => r.partitions[0] === 1)!.closed).toBe(true)
    let thrown: unknown
    try {
      table.get(k1)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(NotOwnedError)
    expect(thrown).toMatchObject({ code: 'NOT_OWNED', partition: 1, groupId: 'g', retriable: true })
    expect((thrown as Error).message).toMatch(/partition 1 of 't'.*holds partitions 0\)/)
    expect([...table]).toEqual([[k0, { v: 2 }]])
    expect(table.assignment()).toEqual([0])
    expect([table.owns(k0), table.owns(k1)]).toEqual([true, false])
    await table.close()
  })

  it('drops a standby not handed back within standbyMs, and loads a partition assigned later from the beginning', async () => {
    const g = groupBackend([0, 1])
    const table = createClient({ backend: g.backend }).table(settings, { groupId: 'g', standbyMs: 50 })
    await table.ready()
    await g.write(1, k1, 1)
    // Incremental (Redis): one partition revoked, the other kept.
    g.revoke([1])
    await new Promise((r) => setTimeout(r, 120))
    expect(g.readers.find((r) => r.partitions[0] === 1)!.closed).toBe(true)
    expect(table.size).toBe(0)
    // Assigned again after it was dropped: a new reader from the beginning, and its keys are not ready until it caught up.
    const reads = g.readers.length
    g.member().onAssigned!([{ topic: 't', partition: 1 }])
    expect(() => table.get(k1)).toThrow(NotReadyError)
    expect(() => table.get(k1)).toThrow(/Partition 1/)
    await tick()
    await tick()
    expect(g.readers).toHaveLength(reads + 1)
    expect(table.get(k1)).toBeUndefined()
    await table.close()
  })

  it('is ready once every partition of its first assignment caught up', async () => {
    const g = groupBackend([0, 1], { loadByHand: true })
    const table = createClient({ backend: g.backend }).table(settings, { groupId: 'g' })
    let ready = false
    void table.ready().then(() => (ready = true))
    await tick()
    await g.caughtUp(0)
    await tick()
    expect(ready).toBe(false)
    expect(() => table.get(k0)).toThrow(/partitions 1 of this member still loading/)
    await g.caughtUp(1)
    await tick()
    expect(ready).toBe(true)
    await table.close()
  })

  it('given no partition, waits a session timeout for some (a cooperative second round), then is ready with none', async () => {
    const g = groupBackend([])
    const table = createClient({ backend: g.backend }).table(settings, { groupId: 'g', sessionTimeoutMs: 200 })
    let ready = false
    void table.ready().then(() => (ready = true))
    await new Promise((r) => setTimeout(r, 50))
    expect(ready).toBe(false)
    expect(() => table.get(k0)).toThrow(/waiting for table group 'g' to assign this member partitions/)
    // More members than partitions: ready with none, every key elsewhere.
    await table.ready()
    expect(() => table.get(k0)).toThrow(NotOwnedError)
    expect(table.size).toBe(0)
    expect(table.partitionOf(k0)).toBe(0)
    expect(table.partitionOf(k1)).toBe(1)
    await table.close()
  })
})
