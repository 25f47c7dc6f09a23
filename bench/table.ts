/**
 * Table bootstrap against the same backend's consume, in one run: a compacted topic of RECORDS records over KEYS keys
 * (about 100-byte JSON values) is read to its end three ways, each from the beginning:
 *   reader   the backend's own table reader handing batches to a no-op (bytes only: the transport's ceiling)
 *   consumer a keyed consumer group with a handler that keeps the latest value per key in a Map, as applications
 *            write it by hand today (decode, validate, Map.set, commit per batch)
 *   table    client.table(topic) until ready() (decode, validate, apply, tombstones)
 * and prints records/s and ratios, and the heap the table holds per key (with --expose-gc).
 * Usage: npm run -w bench bench:table [-- --backend memory|redis|kafka --records 500000 --keys 50000 --partitions 6]
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, type Backend, type StandardSchemaV1 } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { redis } from '@keyed/adapter-redis'
import { kafka } from '@keyed/adapter-kafka'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const BACKEND = arg('backend', 'memory')
const RECORDS = Number(arg('records', '500000'))
const KEYS = Number(arg('keys', '50000'))
const PARTITIONS = Number(arg('partitions', '6'))
const run = randomBytes(3).toString('hex')

type Setting = { user: string; theme: string; fontSize: number; locale: string; version: number; note: string }
/** A hand-written Standard Schema with the checks a zod object would make (keeps the bench free of schema libraries). */
const settingSchema: StandardSchemaV1<Setting> = {
  '~standard': {
    version: 1,
    vendor: 'bench',
    validate: (v: unknown) => {
      const s = v as Partial<Setting> | null
      return typeof s === 'object' &&
        s !== null &&
        typeof s.user === 'string' &&
        typeof s.theme === 'string' &&
        typeof s.fontSize === 'number' &&
        typeof s.locale === 'string' &&
        typeof s.version === 'number' &&
        typeof s.note === 'string'
        ? { value: s as Setting }
        : { issues: [{ message: 'not a setting' }] }
    },
  },
}

let memoryBroker: MemoryBroker | undefined
function backend(): Backend {
  switch (BACKEND) {
    case 'memory':
      // The cleaner stays off: every pass reads the same RECORDS records.
      return memory({ broker: (memoryBroker ??= new MemoryBroker({ cleanerIntervalMs: 1_000_000_000 })) })
    case 'redis':
      return redis({
        url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        keyPrefix: `keyed-bench-table:${run}:`,
        cleanerIntervalMs: 0,
      })
    case 'kafka':
      return kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: 'nothing' })
    default:
      throw new Error(`--backend must be memory, redis or kafka, got '${BACKEND}'`)
  }
}

const topic = defineTopic(`bench-table-${run}`, {
  partitions: PARTITIONS,
  cleanupPolicy: 'compact',
  value: settingSchema,
  // Nothing is compacted during the run, so each pass reads all records.
  minCompactionLagMs: 86_400_000,
})
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)
const fmt = (n: number) => n.toLocaleString('en-US')
const gc = (globalThis as { gc?: () => void }).gc

async function produce(): Promise<number> {
  const client = createClient({ backend: backend() })
  const producer = client.producer()
  let bytes = 0
  for (let i = 0; i < RECORDS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, RECORDS - i) }, (_, j) => {
      const n = i + j
      const user = `user-${String(n % KEYS).padStart(6, '0')}`
      // One record in fifty is a tombstone: a table must apply deletes too.
      if (n % 50 === 49) return { key: user, value: null }
      return {
        key: user,
        value: {
          user,
          theme: n % 2 ? 'dark' : 'light',
          fontSize: 8 + (n % 24),
          locale: 'en-GB',
          version: n,
          note: 'x'.repeat(16),
        },
      }
    })
    if (i === 0) bytes = Buffer.byteLength(JSON.stringify(batch[0]!.value))
    await producer.send(topic, batch)
  }
  await client.close()
  return bytes
}

/** Each partition's end, so a pass knows when it read everything. */
async function ends(): Promise<Map<number, string>> {
  const b = backend()
  const out = new Map((await b.endOffsets!(topic.name)).map((e) => [e.partition, e.offset]))
  await b.close()
  return out
}

async function readerPass(until: Map<number, string>): Promise<number> {
  const b = backend()
  let seen = 0
  const caught = new Set<number>()
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const t0 = performance.now()
  const reader = b.reader!({
    topic: topic.name,
    partitions: [...until.keys()],
    until,
    clientId: undefined,
    maxBatchSize: 1000,
    onBatch: async (batch) => {
      seen += batch.records.length
      if (batch.caughtUp) caught.add(batch.partition)
      if (caught.size === until.size) done()
    },
    onError: (e) => console.error(e),
  })
  await reader.start()
  await finished
  const ms = performance.now() - t0
  await reader.close()
  await b.close()
  return rate(seen, ms)
}

async function consumerPass(until: Map<number, string>): Promise<number> {
  const client = createClient({ backend: backend() })
  const latest = new Map<string, Setting>()
  const reached = new Set<number>()
  const last = new Map([...until].map(([p, end]) => [p, BACKEND === 'redis' ? end : String(Number(end) - 1)]))
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const t0 = performance.now()
  await client.consumer({ groupId: `bench-${run}-${Math.random()}`, maxBatchSize: 1000 }).subscribe(
    topic,
    (m) => {
      seen++
      if (m.value === null) latest.delete(m.key)
      else latest.set(m.key, m.value)
      if (last.get(m.partition) === m.offset) reached.add(m.partition)
      if (reached.size === until.size) done()
    },
    { fromBeginning: true },
  )
  await finished
  const ms = performance.now() - t0
  await client.close()
  return rate(seen, ms)
}

async function tablePass(): Promise<{ rate: number; bytesPerKey: number; size: number }> {
  const client = createClient({ backend: backend() })
  gc?.()
  const before = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const table = client.table(topic)
  await table.ready()
  const ms = performance.now() - t0
  gc?.()
  const held = process.memoryUsage().heapUsed - before
  const size = table.size
  await client.close()
  return { rate: rate(RECORDS, ms), bytesPerKey: Math.round(held / size), size }
}

console.log(`table bench on ${BACKEND}: ${fmt(RECORDS)} records over ${fmt(KEYS)} keys, ${PARTITIONS} partitions`)
const valueBytes = await produce()
const until = await ends()
// The heap is measured on the first table, before any other pass left garbage or retained closures behind.
const first = await tablePass()
const best = { reader: 0, consumer: 0, table: first.rate }
// Alternated and repeated: the best of each, so a passing hiccup on a shared machine does not decide the ratio.
for (let round = 0; round < 3; round++) {
  best.consumer = Math.max(best.consumer, await consumerPass(until))
  best.table = Math.max(best.table, (await tablePass()).rate)
  best.reader = Math.max(best.reader, await readerPass(until))
}
const memoryPerKey = first.bytesPerKey
const size = first.size
console.log(`  values ${valueBytes}-byte JSON, one in fifty a tombstone; the table ends with ${fmt(size)} keys`)
console.log(`  reader (bytes only)                ${fmt(best.reader).padStart(10)} records/s`)
console.log(`  consumer group, Map by hand        ${fmt(best.consumer).padStart(10)} records/s`)
console.log(
  `  table bootstrap to ready           ${fmt(best.table).padStart(10)} records/s   ${(best.table / best.consumer).toFixed(2)}× the consumer, ${(best.table / best.reader).toFixed(2)}× the reader`,
)
console.log(
  gc
    ? `  heap held by the table             ${fmt(memoryPerKey).padStart(10)} bytes per key (values decoded, keys as strings)`
    : '  (run with node --expose-gc for the heap per key)',
)
memoryBroker?.close()
await dropTopic()

/** Removes what the run wrote to a shared server. */
async function dropTopic(): Promise<void> {
  if (BACKEND === 'redis') {
    const conn = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
    let cursor = '0'
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `keyed-bench-table:${run}:*`, 'COUNT', 1000)
      if (keys.length) await conn.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
    conn.disconnect()
  } else if (BACKEND === 'kafka') {
    const admin = new kafkajs.Kafka({
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic.name] }).catch(() => undefined)
    await admin.disconnect()
  }
}
