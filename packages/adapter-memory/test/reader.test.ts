import { createClient, defineTopic, serdes } from '@keyed/sdk'
import type { ReaderBatch } from '@keyed/sdk/backend'
import { describe, expect, it } from 'vitest'
import { memory, MemoryBroker } from '../src/index.js'

const settings = (name: string, deleteRetentionMs = 600_000) =>
  defineTopic(name, {
    partitions: 1,
    cleanupPolicy: 'compact',
    value: serdes.json<{ v: number }>(),
    minCompactionLagMs: 0,
    deleteRetentionMs,
  })

describe('memory reader', () => {
  it('compaction between two batches of a bootstrap: the reader continues at the next surviving offset', async () => {
    let now = 1_000_000
    const broker = new MemoryBroker({ now: () => now, cleanerIntervalMs: 1_000_000 })
    const backend = memory({ broker })
    const topic = settings('mid-bootstrap')
    const client = createClient({ backend })
    const producer = client.producer()
    for (let round = 0; round < 10; round++)
      await producer.send(
        topic,
        ['a', 'b', 'c'].map((key) => ({ key, value: { v: round } })),
      )
    const batches: ReaderBatch[] = []
    let cleaned = false
    const reader = backend.reader!({
      topic: topic.name,
      partitions: [0],
      until: new Map([[0, '30']]),
      clientId: undefined,
      maxBatchSize: 4,
      onBatch: async (batch) => {
        batches.push(batch)
        if (!cleaned) {
          cleaned = true
          now += 1
          broker.runCleaner() // only offsets 27-29 survive; the reader is at 4
        }
      },
      onError: (error) => {
        throw error
      },
    })
    await reader.start()
    await expect.poll(() => batches.some((b) => b.caughtUp)).toBe(true)
    await reader.close()
    expect(batches.flatMap((b) => b.records.map((r) => r.offset))).toEqual(['0', '1', '2', '3', '27', '28', '29'])
    expect(batches.map((b) => b.caughtUp)).toEqual([false, true])
    broker.close()
  })

  it('a partition whose last records were removed, tombstones included, is caught up', async () => {
    let now = 1_000_000
    const broker = new MemoryBroker({ now: () => now, cleanerIntervalMs: 1_000_000 })
    const topic = settings('all-removed', 10)
    const client = createClient({ backend: memory({ broker }) })
    const producer = client.producer()
    await producer.send(topic, [
      { key: 'kept', value: { v: 0 } },
      { key: 'gone', value: { v: 1 } },
    ])
    await producer.tombstone(topic, 'gone')
    now += 100
    broker.runCleaner()
    expect(broker.offsets(topic.name, 0)).toEqual({ start: 0, end: 3 })
    const table = client.table(topic)
    await table.ready()
    expect([...table]).toEqual([['kept', { v: 0 }]])
    await producer.send(topic, { key: 'back', value: { v: 2 } })
    await expect.poll(() => table.get('back')).toEqual({ v: 2 })
    await client.close()
    broker.close()
  })

  it('a table bootstrapped while the cleaner compacts holds the latest values (cleaner run between its batches)', async () => {
    let now = 1_000_000
    const broker = new MemoryBroker({ now: () => now, cleanerIntervalMs: 1_000_000 })
    const topic = settings('table-mid-bootstrap')
    const client = createClient({ backend: memory({ broker }) })
    const producer = client.producer()
    for (let round = 0; round < 50; round++)
      await producer.send(
        topic,
        Array.from({ length: 20 }, (_, k) => ({ key: `k${k}`, value: { v: round } })),
      )
    await producer.tombstone(topic, 'k3')
    const table = client.table(topic, { maxBatchSize: 7 })
    // Runs the cleaner while the table is between batches, as often as it takes to load.
    while (!table.isReady) {
      now += 1
      broker.runCleaner()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(broker.offsets(topic.name, 0)!.start).toBeGreaterThan(0)
    expect(table.size).toBe(19)
    for (const [key, value] of table) expect([key, value]).toEqual([key, { v: 49 }])
    expect(table.has('k3')).toBe(false)
    await client.close()
    broker.close()
  })
})
