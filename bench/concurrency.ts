// Per-key concurrency on an I/O-bound handler (it awaits 5 ms, like a database write): 1,000 keys on 6 partitions,
// one group member, concurrency 1 against 128, per backend. Prints records/s, the ratio, and per-key order
// violations (each key's records carry a sequence number; a violation is one handled before its predecessor).
// Usage: npm run -w bench bench:concurrency -- [memory] [kafka] [redis]   (default memory; Kafka/Redis must be running)
// Env: RECORDS_SLOW (default 6000, for concurrency 1), RECORDS_FAST (default 60000), ROUNDS (default 3), KAFKA_BROKERS,
// REDIS_URL. Each round runs both concurrencies back to back; the ratio is per round, printed as median (min–max).
import { createClient, defineTopic, serdes, type Backend } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { ratios, spread } from './rounds.js'

const KEYS = 1000
const PARTITIONS = 6
const HANDLER_MS = 5
const RECORDS_SLOW = Number(process.env.RECORDS_SLOW ?? 6000)
const RECORDS_FAST = Number(process.env.RECORDS_FAST ?? 60_000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const run = Date.now().toString(36)

async function backendFor(name: string): Promise<() => Backend> {
  if (name === 'memory') {
    const broker = new MemoryBroker()
    return () => memory({ broker })
  }
  if (name === 'kafka') {
    const { kafka } = await import('@keyed/adapter-kafka')
    const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
    return () => kafka({ brokers, logLevel: 'nothing' })
  }
  if (name === 'redis') {
    const { redis } = await import('@keyed/adapter-redis')
    return () => redis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `bench-${run}:` })
  }
  throw new Error(`unknown backend '${name}': memory, kafka or redis`)
}

/** Produces `records` records over KEYS keys, then times one member draining them at the given concurrency. */
async function measure(
  backend: () => Backend,
  concurrency: number,
  records: number,
  round: number,
): Promise<{ rate: number; violations: number }> {
  const topic = defineTopic(`bench-io-${run}-r${round}-c${concurrency}`, {
    partitions: PARTITIONS,
    value: serdes.json<{ seq: number }>(),
  })
  const producer = createClient({ backend: backend() })
  const perKey = Math.ceil(records / KEYS)
  const sender = producer.producer()
  for (let s = 0; s < perKey; s++)
    await sender.send(
      topic,
      Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: { seq: s } })),
    )
  await producer.close()
  const total = perKey * KEYS

  const client = createClient({ backend: backend() })
  const next = new Map<string, number>()
  let violations = 0
  let handled = 0
  let first = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  await client.consumer({ groupId: `bench-io-${run}-r${round}-c${concurrency}`, concurrency }).subscribe(
    topic,
    async (m) => {
      if (handled === 0) first = performance.now()
      if ((next.get(m.key) ?? 0) !== m.value.seq) violations++
      next.set(m.key, m.value.seq + 1)
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS))
      if (++handled === total) done()
    },
    { fromBeginning: true },
  )
  await finished
  const ms = performance.now() - first
  await client.close()
  return { rate: (total / ms) * 1000, violations }
}

const names = process.argv.slice(2).filter((a) => a !== '--')
for (const name of names.length ? names : ['memory']) {
  const backend = await backendFor(name)
  const slow: number[] = []
  const fast: number[] = []
  let violations = 0
  for (let round = 0; round < ROUNDS; round++) {
    const one = await measure(backend, 1, RECORDS_SLOW, round)
    const many = await measure(backend, 128, RECORDS_FAST, round)
    slow.push(one.rate)
    fast.push(many.rate)
    violations += one.violations + many.violations
  }
  console.log(
    `${name.padEnd(6)} I/O-bound handler (${HANDLER_MS} ms), ${KEYS} keys, ${PARTITIONS} partitions, one member, ${ROUNDS} rounds: ` +
      `concurrency 1 ${spread(slow)} records/s, concurrency 128 ${spread(fast)} records/s, ratio ${spread(ratios(fast, slow), 'ratio')}x, ` +
      `per-key order violations ${violations}`,
  )
}
