/**
 * keyed on Redis against raw ioredis on the same server, in one run: produce (pipelined XADD vs producer.send),
 * consume (XREADGROUP + XACK loop vs a consumer group member), and the compaction index's cost on appends.
 * Usage: npm run bench:redis [-- --records 200000 --partitions 4 --batch 500 --rounds 5]; REDIS_URL overrides the server.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { createClient, defineTopic, partitionFor, serdes } from '@keyed/sdk'
import { redis } from '@keyed/adapter-redis'
import { ratios, spread } from './rounds.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const RECORDS = arg('records', 100_000)
const PARTITIONS = arg('partitions', 4)
const BATCH = arg('batch', 500)
const SINGLES = arg('singles', 20_000)
const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `keyed-bench:${randomBytes(4).toString('hex')}:`
const value = randomBytes(100)
const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`)

const raw = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
await raw.connect().catch((e: unknown) => {
  console.error(`No Redis at ${URL} (${String(e)}). Start one with scripts/redis-start.sh.`)
  process.exit(1)
})

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)

/** CPU seconds used so far by this process and by the Redis server (INFO cpu: all its threads). */
async function cpuSeconds(): Promise<number> {
  const info = await raw.info('cpu')
  const used = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0)
  const own = process.cpuUsage()
  return (own.user + own.system) / 1e6 + used('used_cpu_user') + used('used_cpu_sys')
}

/**
 * A timed case's records per second of wall time, and per second of the client's and the server's CPU time together:
 * on a shared machine wall time swings with other processes' load, CPU time much less (the server's counts any other
 * client it serves at the time too).
 */
interface Rates {
  perSec: number
  perCpuSec: number
}
async function timed(records: number, run: () => Promise<unknown>): Promise<Rates> {
  const cpu0 = await cpuSeconds()
  const t0 = performance.now()
  await run()
  const ms = performance.now() - t0
  return { perSec: rate(records, ms), perCpuSec: Math.round(records / ((await cpuSeconds()) - cpu0)) }
}

async function rawProduce(streamOf: (p: number) => string): Promise<number> {
  const t0 = performance.now()
  for (let i = 0; i < RECORDS; i += BATCH) {
    const pipe = raw.pipeline()
    for (let j = i; j < Math.min(i + BATCH, RECORDS); j++) {
      const key = keys[j % keys.length]!
      pipe.xadd(streamOf(partitionFor(key, PARTITIONS)), '*', 'k', key, 'v', value, 't', String(Date.now()))
    }
    await pipe.exec()
  }
  return rate(RECORDS, performance.now() - t0)
}

/** One XADD per call, all calls at once (ioredis writes them back to back on one connection), as one send per request does. */
async function rawSingles(streamOf: (p: number) => string): Promise<number> {
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: SINGLES }, (_, j) => {
      const key = keys[j % keys.length]!
      return raw.xadd(streamOf(partitionFor(key, PARTITIONS)), '*', 'k', key, 'v', value, 't', String(Date.now()))
    }),
  )
  return rate(SINGLES, performance.now() - t0)
}

async function keyedSingles(round: number): Promise<Rates> {
  const topic = defineTopic(`bench-singles-${round}`, { partitions: PARTITIONS, value: serdes.bytes() })
  const producer = client.producer()
  await client.admin().ensureTopics([topic])
  await producer.send(topic, { key: keys[0]!, value })
  return timed(SINGLES, () =>
    Promise.all(
      Array.from({ length: SINGLES }, (_, j) => producer.send(topic, { key: keys[j % keys.length]!, value })),
    ),
  )
}

async function rawConsume(streamOf: (p: number) => string): Promise<number> {
  const streams = Array.from({ length: PARTITIONS }, (_, p) => streamOf(p))
  await Promise.all(streams.map((s) => raw.xgroup('CREATE', s, 'g', '0')))
  const reader = raw.duplicate()
  const t0 = performance.now()
  let seen = 0
  while (seen < RECORDS) {
    const reply = (await reader.xreadgroup(
      'GROUP',
      'g',
      'c',
      'COUNT',
      BATCH,
      'BLOCK',
      1000,
      'STREAMS',
      ...streams,
      ...streams.map(() => '>'),
    )) as Array<[string, Array<[string, string[]]>]> | null
    if (!reply) continue
    for (const [stream, entries] of reply) {
      seen += entries.length
      await reader.xack(stream, 'g', ...entries.map((e) => e[0]))
    }
  }
  reader.disconnect()
  return rate(RECORDS, performance.now() - t0)
}

// Telemetry off: this repository installs @opentelemetry/api, which turns a span per send() call on (bench/run.ts
// measures its cost); these figures are the producer's and the adapter's own.
const client = createClient({ backend: redis({ url: URL, keyPrefix: prefix }), telemetry: false })

async function keyedProduce(compacted: boolean, round: number): Promise<Rates> {
  const topic = defineTopic(`bench-${compacted ? 'compact' : 'plain'}-${round}`, {
    partitions: PARTITIONS,
    value: serdes.bytes(),
    cleanupPolicy: compacted ? 'compact' : 'delete',
  })
  const producer = client.producer()
  await client.admin().ensureTopics([topic])
  return timed(RECORDS, async () => {
    for (let i = 0; i < RECORDS; i += BATCH) {
      const batch = []
      for (let j = i; j < Math.min(i + BATCH, RECORDS); j++) batch.push({ key: keys[j % keys.length]!, value })
      await producer.send(topic, batch)
    }
  })
}

async function keyedConsume(round: number): Promise<number> {
  const topic = defineTopic(`bench-plain-${round}`, { partitions: PARTITIONS, value: serdes.bytes() })
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const t0 = performance.now()
  const consumer = client.consumer({ groupId: 'bench', maxBatchSize: BATCH })
  await consumer.subscribe(
    topic,
    () => {
      if (++seen === RECORDS) done()
    },
    { fromBeginning: true },
  )
  await finished
  const perSec = rate(RECORDS, performance.now() - t0)
  await consumer.close()
  return perSec
}

const ROUNDS = arg('rounds', 5)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc (npm run bench:redis does)')
/** Runs a case from a collected heap, so no case pays for the garbage of the one before it. */
async function fresh<T>(run: () => Promise<T>): Promise<T> {
  gc!()
  // The collector sweeps on helper threads after gc() returns: let that finish first.
  await new Promise((resolve) => setTimeout(resolve, 20))
  return run()
}
try {
  // Rounds alternate the cases so background load on the machine hits each alike; each figure is the median.
  const runs = {
    rawSingles: [] as number[],
    keyedSingles: [] as number[],
    keyedSinglesCpu: [] as number[],
    plainCpu: [] as number[],
    rawProduce: [] as number[],
    plain: [] as number[],
    compact: [] as number[],
    rawConsume: [] as number[],
    keyedConsume: [] as number[],
  }
  for (let round = 0; round < ROUNDS; round++) {
    const rawStream = (p: number) => `${prefix}raw${round}:{${p}}`
    runs.rawProduce.push(await fresh(() => rawProduce(rawStream)))
    const plain = await fresh(() => keyedProduce(false, round))
    runs.plain.push(plain.perSec)
    runs.plainCpu.push(plain.perCpuSec)
    runs.compact.push((await fresh(() => keyedProduce(true, round))).perSec)
    runs.rawConsume.push(await fresh(() => rawConsume(rawStream)))
    runs.keyedConsume.push(await fresh(() => keyedConsume(round)))
    runs.rawSingles.push(await fresh(() => rawSingles((p) => `${prefix}singles${round}:{${p}}`)))
    const singles = await fresh(() => keyedSingles(round))
    runs.keyedSingles.push(singles.perSec)
    runs.keyedSinglesCpu.push(singles.perCpuSec)
  }
  const rows: Array<[string, number[], number[] | undefined, string]> = [
    ['produce: raw pipelined XADD', runs.rawProduce, undefined, 'baseline'],
    ['produce: keyed producer.send', runs.plain, ratios(runs.plain, runs.rawProduce), 'vs raw XADD'],
    ['produce: keyed, compacted topic', runs.compact, ratios(runs.compact, runs.plain), 'vs keyed plain (index cost)'],
    ['consume: raw XREADGROUP + XACK', runs.rawConsume, undefined, 'baseline'],
    ['consume: keyed consumer group', runs.keyedConsume, ratios(runs.keyedConsume, runs.rawConsume), 'vs raw loop'],
    [`concurrent single sends: raw XADD per call (${SINGLES})`, runs.rawSingles, undefined, 'baseline'],
    [
      `concurrent single sends: keyed producer.send (${SINGLES})`,
      runs.keyedSingles,
      ratios(runs.keyedSingles, runs.rawSingles),
      'vs raw XADD per call',
    ],
    [
      'concurrent single sends: keyed',
      runs.keyedSingles,
      ratios(runs.keyedSingles, runs.plain),
      `vs keyed batches of ${BATCH}`,
    ],
    [
      'concurrent single sends: keyed, per CPU second (client + server)',
      runs.keyedSinglesCpu,
      ratios(runs.keyedSinglesCpu, runs.plainCpu),
      `vs keyed batches of ${BATCH}, per CPU second`,
    ],
  ]
  console.log(
    `\nRedis ${URL}: ${RECORDS} records of ${value.length} B, ${keys.length} keys, ${PARTITIONS} partitions, batches of ${BATCH}, ${ROUNDS} rounds: median (min–max); ratios within each round\n`,
  )
  console.log('| case | records/s | ratio | against |')
  console.log('|---|---:|---:|---|')
  for (const [name, perSec, ratio, against] of rows)
    console.log(`| ${name} | ${spread(perSec)} | ${ratio ? spread(ratio, 'ratio') : '1.00'} | ${against} |`)
} finally {
  await client.close()
  let cursor = '0'
  do {
    const [next, found] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (found.length) await raw.unlink(...found)
    cursor = next
  } while (cursor !== '0')
  raw.disconnect()
}
