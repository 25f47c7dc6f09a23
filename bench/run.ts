// Partitioning against kafkajs's own Java-compatible partitioner, and the memory backend's throughput.
// Ratios come from one run on one machine; rerun with `npm run bench`.
import { createClient, defineTopic, partitionFor } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { Partitioners } from 'kafkajs'

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)
const fmt = (n: number) => n.toLocaleString('en-US')

function bestOf<T>(runs: number, fn: () => T): number {
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

function partitioning(label: string, keys: string[]): void {
  const partitions = 12
  const metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 }))
  const kafkajs = Partitioners.DefaultPartitioner()
  let sink = 0
  const keyed = bestOf(3, () => {
    for (const key of keys) sink += partitionFor(key, partitions)
  })
  const raw = bestOf(3, () => {
    for (const key of keys) sink += kafkajs({ topic: 't', partitionMetadata: metadata, message: { key, value: null } })
  })
  console.log(`partition 1M ${label.padEnd(10)} keyed ${fmt(rate(keys.length, keyed)).padStart(11)}/s   kafkajs ${fmt(rate(keys.length, raw)).padStart(10)}/s   ratio ${(raw / keyed).toFixed(2)}x${sink < 0 ? '' : ''}`)
}

async function memoryThroughput(total: number, batch: number): Promise<void> {
  const broker = new MemoryBroker()
  const client = createClient({ backend: memory({ broker }) })
  const topic = defineTopic('bench-memory', { partitions: 6 })
  const producer = client.producer()
  const value = { id: 0, customer: 'customer-000000', amount: 123.45, currency: 'EUR', note: 'x'.repeat(24) }
  const records = Array.from({ length: total }, (_, i) => ({ key: `customer-${i % 5000}`, value: { ...value, id: i } }))
  await producer.send(topic, records.slice(0, batch))
  const bytes = Buffer.byteLength(JSON.stringify(records[0]!.value))
  const t0 = performance.now()
  for (let i = 0; i < total; i += batch) await producer.send(topic, records.slice(i, i + batch))
  const produceMs = performance.now() - t0
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const t1 = performance.now()
  await client.consumer({ groupId: 'bench', maxBatchSize: 1000 }).subscribe(topic, () => {
    if (++seen === total + batch) done()
  }, { fromBeginning: true })
  await finished
  const consumeMs = performance.now() - t1
  console.log(`memory produce  ${fmt(rate(total, produceMs)).padStart(10)} records/s  (${total} records of ${bytes}-byte JSON, batches of ${batch})`)
  console.log(`memory consume  ${fmt(rate(total + batch, consumeMs)).padStart(10)} records/s  (one group member, 6 partitions, commit per batch)`)
  await client.close()
  broker.close()
}

const ascii = Array.from({ length: 1_000_000 }, (_, i) => `customer-${i}`)
const unicode = Array.from({ length: 1_000_000 }, (_, i) => `klíč-日本-${i}`)
partitioning('ASCII', ascii)
partitioning('non-ASCII', unicode)
await memoryThroughput(200_000, 1000)
