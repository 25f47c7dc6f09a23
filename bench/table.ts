/**
 * Table bootstrap against the same backend's raw consume, in one run: a compacted topic of RECORDS records over KEYS
 * keys (about 100-byte JSON values) is read to its end four ways, each from the beginning, ROUNDS times:
 *   raw      what a user writes with the backend's own client: JSON.parse of each value, Map.set, Map.delete for a
 *            tombstone, no validation. Kafka: a kafkajs consumer (a fresh group, fromBeginning, eachBatch,
 *            autoCommit off: the loop reads from the beginning on every start, so it needs no commits; the keyed
 *            reader's fetch settings). Redis: ioredis XREAD of the partition streams keyed wrote. Memory has no raw
 *            client: the broker's log read (its bare reader) plus the same parse and Map.
 *   table    client.table(topic) until ready() (decode, validate, apply, tombstones)
 *   reader   the backend's own table reader handing batches to a no-op (bytes only: the transport's ceiling)
 *   consumer a keyed consumer group with a handler that keeps the latest value per key in a Map
 * Each round runs them back to back; the figure is table/raw per round, summed up as median (min–max). It prints the
 * heap the table holds per key (with --expose-gc) next to the raw Map's.
 * Usage: npm run -w bench bench:table [-- --backend memory|redis|kafka --records 500000 --keys 50000 --partitions 6]
 *        (ROUNDS=3 by default)
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { Redis } from 'ioredis'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, type Backend, type StandardSchemaV1 } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { redis } from '@keyed/adapter-redis'
import { kafka } from '@keyed/adapter-kafka'
import { ratios, spread } from './rounds.js'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const BACKEND = arg('backend', 'memory')
const RECORDS = Number(arg('records', '500000'))
const KEYS = Number(arg('keys', '50000'))
const PARTITIONS = Number(arg('partitions', '6'))
const run = randomBytes(3).toString('hex')
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const REDIS_PREFIX = `keyed-bench-table:${run}:`
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

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
      return redis({ url: REDIS_URL, keyPrefix: REDIS_PREFIX, cleanerIntervalMs: 0 })
    case 'kafka':
      return kafka({ brokers: BROKERS, logLevel: 'nothing' })
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

/** Heap in use after a full collection (with --expose-gc; without it the figures are rough). */
const heap = () => {
  gc?.()
  return process.memoryUsage().heapUsed
}

async function tablePass(): Promise<Pass> {
  const client = createClient({ backend: backend() })
  // Heap growth from before the table to its ready (values, keys, the reader's buffers): what dropping it frees is
  // not measurable here, as the closed client is still reachable for a while.
  const before = heap()
  const t0 = performance.now()
  const table = client.table(topic)
  await table.ready()
  const ms = performance.now() - t0
  const size = table.size
  const held = heap() - before
  await client.close()
  return { rate: rate(RECORDS, ms), bytesPerKey: Math.round(held / size), size }
}

/** The raw loop's state: the latest parsed value per key, as a user keeps it by hand. */
class RawMap {
  readonly latest = new Map<string, unknown>()
  seen = 0
  apply(key: string, value: Buffer | null): void {
    this.seen++
    if (value === null) this.latest.delete(key)
    else this.latest.set(key, JSON.parse(value.toString('utf8')))
  }
}

interface Pass {
  rate: number
  bytesPerKey: number
  size: number
}

/** Times `read` filling a RawMap, and the heap the map frees when dropped. */
async function rawPass(read: (map: RawMap) => Promise<void>): Promise<Pass> {
  let map: RawMap | undefined = new RawMap()
  const t0 = performance.now()
  await read(map)
  const ms = performance.now() - t0
  const { seen, latest } = map
  const size = latest.size
  const held = heap()
  map = undefined
  latest.clear()
  return { rate: rate(seen, ms), bytesPerKey: Math.round((held - heap()) / size), size }
}

/** A view of the bytes, not a copy. */
const bytes = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

/** Memory: the broker's logs through the bare reader, with the raw parse and Map. */
async function rawMemory(map: RawMap, until: Map<number, string>): Promise<void> {
  const b = backend()
  const caught = new Set<number>()
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const reader = b.reader!({
    topic: topic.name,
    partitions: [...until.keys()],
    until,
    clientId: undefined,
    maxBatchSize: 1000,
    onBatch: async (batch) => {
      for (const r of batch.records) map.apply(bytes(r.key!).toString('utf8'), r.value && bytes(r.value))
      if (batch.caughtUp) caught.add(batch.partition)
      if (caught.size === until.size) done()
    },
    onError: (e) => console.error(e),
  })
  await reader.start()
  await finished
  await reader.close()
  await b.close()
}

/** Redis: ioredis XREAD over the partition streams (keys.ts: <prefix>{<topic>:<partition>}:log; fields k, v, h, t). */
async function rawRedis(map: RawMap): Promise<void> {
  const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  const cursors = new Map(
    Array.from({ length: PARTITIONS }, (_, p) => [`${REDIS_PREFIX}{${topic.name}:${p}}:log`, '0-0']),
  )
  const COUNT = 1000
  while (cursors.size > 0) {
    const streams = [...cursors.keys()]
    const reply = (await conn.xreadBuffer('COUNT', COUNT, 'STREAMS', ...streams, ...cursors.values())) ?? []
    const got = new Set<string>()
    for (const [name, entries] of reply) {
      const stream = name.toString()
      got.add(stream)
      for (const [id, fields] of entries) {
        let key: Buffer | null = null
        let value: Buffer | null = null
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const f = fields[i]!.toString('latin1')
          if (f === 'k') key = fields[i + 1]!
          else if (f === 'v') value = fields[i + 1]!
        }
        map.apply(key!.toString('utf8'), value)
        cursors.set(stream, id.toString('latin1'))
      }
      // Nothing writes during the run, so a short read is the stream's end.
      if (entries.length < COUNT) cursors.delete(stream)
    }
    for (const stream of streams) if (!got.has(stream)) cursors.delete(stream)
  }
  conn.disconnect()
}

/** Kafka: a kafkajs consumer of a fresh group from the beginning, eachBatch, no commits, until each partition's end. */
async function rawKafka(map: RawMap, until: Map<number, string>): Promise<void> {
  const consumer = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).consumer({
    groupId: `bench-table-raw-${run}-${Math.random()}`,
    maxWaitTimeInMs: 500,
  })
  const last = new Map([...until].map(([p, end]) => [p, Number(end) - 1]))
  const reached = new Set<number>()
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  await consumer.connect()
  await consumer.subscribe({ topic: topic.name, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) map.apply(m.key!.toString('utf8'), m.value)
      const lastOffset = batch.messages.length ? Number(batch.messages[batch.messages.length - 1]!.offset) : -1
      if (lastOffset >= last.get(batch.partition)!) reached.add(batch.partition)
      if (reached.size === until.size) done()
    },
  })
  await finished
  await consumer.disconnect()
}

const rawRead = (until: Map<number, string>) => (map: RawMap) =>
  BACKEND === 'kafka' ? rawKafka(map, until) : BACKEND === 'redis' ? rawRedis(map) : rawMemory(map, until)

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

console.log(
  `table bench on ${BACKEND}: ${fmt(RECORDS)} records over ${fmt(KEYS)} keys, ${PARTITIONS} partitions, ${ROUNDS} rounds`,
)
const valueBytes = await produce()
const until = await ends()
// The heap is measured on the first passes, before any other pass left garbage or retained closures behind.
const rounds = { raw: [] as number[], table: [] as number[], reader: [] as number[], consumer: [] as number[] }
let tableHeap: Pass | undefined
let rawHeap: Pass | undefined
const loads: string[] = [load()]
for (let round = 0; round < ROUNDS; round++) {
  // Alternated: which of raw and table goes first flips each round, so neither always runs on a warmer process.
  const first = round % 2 === 0 ? 'table' : 'raw'
  let t: Pass
  let r: Pass
  if (first === 'table') {
    t = await tablePass()
    r = await rawPass(rawRead(until))
  } else {
    r = await rawPass(rawRead(until))
    t = await tablePass()
  }
  tableHeap ??= t
  rawHeap ??= r
  if (t.size !== r.size) throw new Error(`the table ended with ${t.size} keys, the raw Map with ${r.size}`)
  rounds.table.push(t.rate)
  rounds.raw.push(r.rate)
  rounds.reader.push(await readerPass(until))
  rounds.consumer.push(await consumerPass(until))
  loads.push(load())
  console.log(
    `  round ${round + 1}: table ${fmt(t.rate)}/s, raw ${fmt(r.rate)}/s, table/raw ${(t.rate / r.rate).toFixed(2)} (load ${loads.at(-1)})`,
  )
}
const perRound = ratios(rounds.table, rounds.raw)
console.log(
  `  values ${valueBytes}-byte JSON, one in fifty a tombstone; the table ends with ${fmt(tableHeap!.size)} keys`,
)
console.log(`  median (min–max) of ${ROUNDS} rounds, load average (1/5/15 min) ${loads.join(' → ')}`)
console.log(`  raw ${BACKEND} client, JSON.parse + Map  ${spread(rounds.raw).padStart(30)} records/s`)
console.log(`  table bootstrap to ready          ${spread(rounds.table).padStart(30)} records/s`)
console.log(
  `  table/raw per round               ${perRound.map((x) => x.toFixed(2)).join(', ')}: ${spread(perRound, 'ratio')}`,
)
console.log(`  reader (bytes only)               ${spread(rounds.reader).padStart(30)} records/s`)
console.log(`  keyed consumer group, Map by hand ${spread(rounds.consumer).padStart(30)} records/s`)
console.log(
  gc
    ? `  heap per key: table (growth to ready) ${fmt(tableHeap!.bytesPerKey)} bytes (values decoded, keys as strings), raw Map (freed when dropped) ${fmt(rawHeap!.bytesPerKey)}`
    : '  (run with node --expose-gc for the heap per key)',
)
memoryBroker?.close()
await dropTopic()

/** Removes what the run wrote to a shared server. */
async function dropTopic(): Promise<void> {
  if (BACKEND === 'redis') {
    const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    let cursor = '0'
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000)
      if (keys.length) await conn.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
    conn.disconnect()
  } else if (BACKEND === 'kafka') {
    const admin = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [topic.name] }).catch(() => undefined)
    await admin.disconnect()
  }
}
