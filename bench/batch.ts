// Batch handlers (subscribeBatch) against per-record handlers (subscribe), on memory, Redis and Kafka in one run.
// Usage: npm run -w bench bench:batch [-- --backend memory,redis,kafka]. Needs Kafka on 127.0.0.1:9092 and Redis on
// 127.0.0.1:6379 for those backends (KAFKA_BROKERS, REDIS_URL). Env: RECORDS (default 20000), ROUNDS (default 3).
//
// Workload, the same for both handlers: each handler call is one simulated database round trip of 1 ms (a
// setTimeout of 1 ms, which Node rounds up to at least 1 ms; on a loaded machine more), after building one row per
// record (JSON.stringify of the decoded value). A per-record handler pays the round trip per record, a batch handler
// once per batch: that difference is the point of bulk writes. A second workload, 'no I/O', only counts records: it
// shows what the batch path costs or saves by itself.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, type Backend, type StandardSchemaV1 } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { redis } from '@keyed/adapter-redis'
import { kafka } from '@keyed/adapter-kafka'
import { ratios, spread } from './rounds.js'

const RECORDS = Number(process.env.RECORDS ?? 20_000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const PARTITIONS = 6
const MAX_BATCH = 500
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const arg = process.argv.indexOf('--backend')
const BACKENDS = (arg > 0 ? process.argv[arg + 1]! : 'memory,redis,kafka').split(',')
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
const prefix = `keyed-bench-batch:${run}:`

type Order = { id: number; customer: string; amount: number; currency: string; note: string }
const orderSchema: StandardSchemaV1<Order> = {
  '~standard': {
    version: 1,
    vendor: 'bench',
    validate: (v: unknown) => {
      const o = v as Order
      return typeof o === 'object' && o !== null && typeof o.id === 'number' && typeof o.amount === 'number'
        ? { value: o }
        : { issues: [{ message: 'not an order' }] }
    },
  },
}

const memoryBroker = new MemoryBroker({ cleanerIntervalMs: 1_000_000_000 })
function backendOf(name: string): Backend {
  if (name === 'memory') return memory({ broker: memoryBroker })
  if (name === 'redis') return redis({ url: REDIS_URL, keyPrefix: prefix, cleanerIntervalMs: 0 })
  if (name === 'kafka') return kafka({ brokers: BROKERS, logLevel: 'nothing' })
  throw new Error(`--backend takes memory, redis and kafka, got '${name}'`)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
/** One bulk write: rows built, then one round trip. */
async function write(rows: readonly Order[]): Promise<void> {
  let bytes = 0
  for (const row of rows) bytes += JSON.stringify(row).length
  if (bytes < 0) throw new Error('unreachable')
  await sleep(1)
}

type Mode = 'record' | 'batch'
type Workload = 'db' | 'none'

/** Records per second for one fresh group draining the topic. */
async function consume(backend: string, topicName: string, mode: Mode, workload: Workload): Promise<number> {
  const client = createClient({ backend: backendOf(backend) })
  const topic = defineTopic(topicName, { partitions: PARTITIONS, value: orderSchema })
  const consumer = client.consumer({
    groupId: `bench-${run}-${mode}-${workload}-${Math.random()}`,
    maxBatchSize: MAX_BATCH,
  })
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  // From the first record on: the group join is not part of the figure.
  let t0 = 0
  const start = () => (t0 ||= performance.now())
  if (mode === 'record')
    await consumer.subscribe(
      topic,
      async (m) => {
        start()
        if (workload === 'db') await write([m.value])
        if (++seen === RECORDS) done()
      },
      { fromBeginning: true },
    )
  else
    await consumer.subscribeBatch(
      topic,
      async (batch) => {
        start()
        if (workload === 'db') await write(batch.messages.map((m) => m.value))
        seen += batch.messages.length
        if (seen === RECORDS) done()
      },
      { fromBeginning: true },
    )
  await finished
  const perSec = (RECORDS / (performance.now() - t0)) * 1000
  await client.close()
  return perSec
}

async function fill(backend: string, name: string): Promise<void> {
  const client = createClient({ backend: backendOf(backend) })
  const topic = defineTopic(name, { partitions: PARTITIONS, value: orderSchema })
  const producer = client.producer()
  const records = Array.from({ length: RECORDS }, (_, i) => ({
    key: `customer-${i % 1000}`,
    value: { id: i, customer: `customer-${i % 1000}`, amount: i % 977, currency: 'EUR', note: 'x'.repeat(30) },
  }))
  for (let i = 0; i < RECORDS; i += 1000) await producer.send(topic, records.slice(i, i + 1000))
  await client.close()
}

async function cleanup(backend: string, topics: string[]): Promise<void> {
  if (backend === 'redis') {
    const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    let cursor = '0'
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length) await conn.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
    conn.disconnect()
  } else if (backend === 'kafka') {
    const admin = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.deleteTopics({ topics }).catch(() => undefined)
    await admin.disconnect()
  }
}

console.log(
  `${RECORDS} records per round over ${PARTITIONS} partitions, maxBatchSize ${MAX_BATCH}, ${ROUNDS} rounds; records/s as median (min–max)`,
)
for (const backend of BACKENDS) {
  const topics: string[] = []
  const figures: Record<`${Mode}-${Workload}`, number[]> = {
    'record-db': [],
    'batch-db': [],
    'record-none': [],
    'batch-none': [],
  }
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const name = `bench-batch-${run}-${backend}-${r}`
      topics.push(name)
      await fill(backend, name)
      // Both handlers read the same records, back to back; the order alternates so background load hits both alike.
      const order: Mode[] = r % 2 ? ['batch', 'record'] : ['record', 'batch']
      for (const workload of ['db', 'none'] as const)
        for (const mode of order) figures[`${mode}-${workload}`].push(await consume(backend, name, mode, workload))
    }
  } finally {
    await cleanup(backend, topics)
  }
  const line = (workload: Workload, what: string) =>
    console.log(
      `${backend.padEnd(6)} ${what.padEnd(28)} per-record ${spread(figures[`record-${workload}`]).padEnd(26)} batch ${spread(figures[`batch-${workload}`]).padEnd(26)} ratio ${spread(ratios(figures[`batch-${workload}`], figures[`record-${workload}`]), 'ratio')}`,
    )
  line('db', '1 ms bulk write per call')
  line('none', 'no I/O')
}
memoryBroker.close()
