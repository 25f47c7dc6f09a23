// Partitioning against kafkajs's own Java-compatible partitioner, and the memory backend's throughput.
// Ratios come from one run on one machine; rerun with `npm run bench`.
import { createClient, defineTopic, partitionFor, serdes } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { Partitioners } from 'kafkajs'
import { ratios, spread } from './rounds.js'

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
  const metadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }))
  const kafkajs = Partitioners.DefaultPartitioner()
  let sink = 0
  const keyed = bestOf(3, () => {
    for (const key of keys) sink += partitionFor(key, partitions)
  })
  const raw = bestOf(3, () => {
    for (const key of keys) sink += kafkajs({ topic: 't', partitionMetadata: metadata, message: { key, value: null } })
  })
  console.log(
    `partition 1M ${label.padEnd(10)} keyed ${fmt(rate(keys.length, keyed)).padStart(11)}/s   kafkajs ${fmt(rate(keys.length, raw)).padStart(10)}/s   ratio ${(raw / keyed).toFixed(2)}x${sink < 0 ? '' : ''}`,
  )
}

const benchValue = { id: 0, customer: 'customer-000000', amount: 123.45, currency: 'EUR', note: 'x'.repeat(24) }

/** Records per second of wall time and of this process's CPU time (user + system). */
interface Rates {
  readonly wall: number
  readonly cpu: number
}

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc (npm run bench does)')

/**
 * Times `fn` by the wall clock and by the process's CPU time: on a shared machine the second counts only this work.
 * Each case starts from a collected heap, so no case pays for the garbage of the one before it.
 */
async function timed(total: number, fn: () => Promise<unknown>): Promise<Rates> {
  gc!()
  // The collector sweeps on helper threads after gc() returns: let that finish outside the measured time.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await fn()
  const wall = performance.now() - t0
  const { user, system } = process.cpuUsage(cpu0)
  return { wall: rate(total, wall), cpu: rate(total, (user + system) / 1000) }
}

/** Records per second producing `total` records on the memory backend, in calls of `perCall` records; 1 means concurrent single sends. */
async function memoryProduce(total: number, perCall: number, round: number, traced = false): Promise<Rates> {
  const broker = new MemoryBroker()
  // Telemetry off unless `traced`: this repository installs @opentelemetry/api (no provider registered), which turns
  // a span per send() call on; its cost is measured as a case of its own.
  const client = createClient({ backend: memory({ broker }), ...(!traced && { telemetry: false as const }) })
  const topic = defineTopic(`bench-memory-${perCall}-${round}`, { partitions: 6 })
  const producer = client.producer()
  const records = Array.from({ length: total }, (_, i) => ({
    key: `customer-${i % 5000}`,
    value: { ...benchValue, id: i },
  }))
  await producer.send(topic, records.slice(0, 10))
  const perSec = await timed(total, async () => {
    if (perCall === 1) {
      // Every call at once, as a server handling many requests sends one record per request.
      await Promise.all(records.map((r) => producer.send(topic, r)))
    } else {
      for (let i = 0; i < total; i += perCall) await producer.send(topic, records.slice(i, i + perCall))
    }
  })
  await client.close()
  broker.close()
  return perSec
}

const keySerde = serdes.string()
const valueSerde = serdes.json()

/**
 * The floor under concurrent single sends with a promise per call, written by hand with no SDK around it: serialize
 * the key and value, partition, store, and resolve each call's own promise with its metadata.
 */
async function floorProduce(total: number): Promise<Rates> {
  const logs: { key: Uint8Array; value: Uint8Array; timestamp: number }[][] = Array.from({ length: 6 }, () => [])
  const records = Array.from({ length: total }, (_, i) => ({
    key: `customer-${i % 5000}`,
    value: { ...benchValue, id: i },
  }))
  return timed(total, async () => {
    const now = Date.now()
    await Promise.all(
      records.map((r) => {
        const key = keySerde.serialize(r.key)
        const partition = partitionFor(key, 6)
        const log = logs[partition]!
        log.push({ key, value: valueSerde.serialize(r.value), timestamp: now })
        return Promise.resolve({ topic: 'floor', partition, offset: String(log.length - 1), timestamp: now })
      }),
    )
  })
}

/** Records per second for one group member draining `total` records on the memory backend. */
async function memoryConsume(total: number, batch: number, round: number): Promise<number> {
  const broker = new MemoryBroker()
  const client = createClient({ backend: memory({ broker }) })
  const topic = defineTopic(`bench-memory-consume-${round}`, { partitions: 6 })
  const producer = client.producer()
  const records = Array.from({ length: total }, (_, i) => ({
    key: `customer-${i % 5000}`,
    value: { ...benchValue, id: i },
  }))
  for (let i = 0; i < total; i += batch) await producer.send(topic, records.slice(i, i + batch))
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const t1 = performance.now()
  await client.consumer({ groupId: 'bench', maxBatchSize: 1000 }).subscribe(
    topic,
    () => {
      if (++seen === total) done()
    },
    { fromBeginning: true },
  )
  await finished
  const perSec = rate(total, performance.now() - t1)
  await client.close()
  broker.close()
  return perSec
}

/** Batched sends, concurrent single sends and consuming alternate over rounds, so background load hits each alike. */
async function memoryCases(total: number, consumeTotal: number, batch: number, rounds: number): Promise<void> {
  const batched: Rates[] = []
  const singles: Rates[] = []
  const traced: Rates[] = []
  const floor: Rates[] = []
  const consumed: number[] = []
  // A first round of each warms the JIT up; it is not counted.
  await memoryProduce(total, batch, -1)
  await memoryProduce(total, 1, -1)
  for (let r = 0; r < rounds; r++) {
    batched.push(await memoryProduce(total, batch, r))
    singles.push(await memoryProduce(total, 1, r))
    floor.push(await floorProduce(total))
    traced.push(await memoryProduce(total, 1, r, true))
  }
  // After the produce rounds: a consume round leaves a large heap behind.
  for (let r = 0; r < 5; r++) consumed.push(await memoryConsume(consumeTotal, batch, r))
  const bytes = Buffer.byteLength(JSON.stringify({ ...benchValue, id: 123456 }))
  const wall = (xs: Rates[]) => xs.map((x) => x.wall)
  const cpu = (xs: Rates[]) => xs.map((x) => x.cpu)
  console.log(`memory, ${rounds} rounds (consume: 5), median (min–max); records/s of wall time, and of CPU time:`)
  console.log(
    `memory produce  ${spread(wall(batched))}/s wall, ${spread(cpu(batched))}/s CPU  (${total} records of ${bytes}-byte JSON, batches of ${batch})`,
  )
  console.log(
    `memory produce  ${spread(wall(singles))}/s wall, ${spread(cpu(singles))}/s CPU  (${total} concurrent single-record sends)`,
  )
  console.log(
    `  singles / batched: ${spread(ratios(wall(singles), wall(batched)), 'ratio')} by wall time, ${spread(ratios(cpu(singles), cpu(batched)), 'ratio')} by CPU time`,
  )
  console.log(
    `memory produce  ${spread(wall(floor))}/s wall, ${spread(cpu(floor))}/s CPU  (the floor: the same singles written by hand, serialize + store + a promise per call, no SDK)`,
  )
  console.log(
    `  floor / batched: ${spread(ratios(cpu(floor), cpu(batched)), 'ratio')} by CPU time; singles / floor: ${spread(ratios(cpu(singles), cpu(floor)), 'ratio')}`,
  )
  console.log(
    `memory produce  ${spread(wall(traced))}/s wall, ${spread(cpu(traced))}/s CPU  (the same singles with telemetry on: @opentelemetry/api installed, no provider)`,
  )
  console.log(`  traced singles / singles: ${spread(ratios(cpu(traced), cpu(singles)), 'ratio')} by CPU time`)
  console.log(
    `memory consume  ${spread(consumed)}  (${consumeTotal} records, one group member, 6 partitions, commit per batch)`,
  )
}

const ascii = Array.from({ length: 1_000_000 }, (_, i) => `customer-${i}`)
const unicode = Array.from({ length: 1_000_000 }, (_, i) => `klíč-日本-${i}`)
partitioning('ASCII', ascii)
partitioning('non-ASCII', unicode)
await memoryCases(Number(process.env.RECORDS ?? 20_000), 200_000, 1000, Number(process.env.ROUNDS ?? 15))
