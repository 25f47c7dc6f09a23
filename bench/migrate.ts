// keyed topic migrate of RECORDS records (default 200k) on Kafka, run as the built binary, against the raw
// consume→produce loop of the adapter in the same run: the Backend contract's group consumer handing each batch to its
// strict producer (idempotent, acks all, one in flight) with murmur2 partitions over the new count, committing after
// each send. Target ratio ≥ 0.8. Rounds alternate raw and keyed (ROUNDS, default 3); the figure is the median of the
// per-round ratios. Usage: npm run -w bench bench:migrate (Kafka on 127.0.0.1:9092; KAFKA_BROKERS overrides).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createClient, defineTopic, partitionFor } from '@keyed/sdk'
import type { BackendConsumer, OutgoingRecord } from '@keyed/sdk/backend'
import { kafka } from '@keyed/adapter-kafka'
import { ratios, spread } from './rounds.js'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const RECORDS = Number(process.env.RECORDS ?? 200_000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const BATCH = 1000
const FROM = 6
const TO = 12
const run = Date.now().toString(36)
const backend = kafka({ brokers, logLevel: 'nothing' })
const client = createClient({ backend })

async function seed(name: string): Promise<void> {
  const topic = defineTopic(name, { partitions: FROM })
  const producer = client.producer()
  const value = { id: 0, customer: 'customer-000000', amount: 123.45, currency: 'EUR', note: 'x'.repeat(30) }
  for (let i = 0; i < RECORDS; i += 5000) {
    await producer.send(
      topic,
      Array.from({ length: Math.min(5000, RECORDS - i) }, (_, j) => ({
        key: `customer-${(i + j) % 5000}`,
        value: { ...value, id: i + j },
      })),
    )
  }
}

/** The raw loop: records/s from joining the group to the last commit (the migration's rate spans the same). */
async function rawLoop(from: string, to: string, round: number): Promise<number> {
  await backend.createTopic({
    name: to,
    partitions: TO,
    cleanupPolicy: 'delete',
    retentionMs: undefined,
    retentionBytes: undefined,
    deleteRetentionMs: undefined,
    minCompactionLagMs: undefined,
    config: {},
  })
  const producer = backend.producer({
    idempotent: true,
    acks: 'all',
    maxInFlight: 1,
    retries: 5,
    clientId: 'bench-raw',
  })
  let copied = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const member: BackendConsumer = backend.consumer({
    groupId: `bench-raw-${from}-${round}`,
    clientId: 'bench-raw',
    subscriptions: [{ topic: from, fromBeginning: true }],
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    maxBatchSize: BATCH,
    onBatch: async (batch) => {
      const out: OutgoingRecord[] = batch.records.map((r) => ({
        topic: to,
        partition: r.key ? partitionFor(r.key, TO) : 0,
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
      }))
      await producer.send(out)
      await member.commit([
        { topic: from, partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset },
      ])
      if ((copied += out.length) >= RECORDS) done()
    },
  })
  const start = performance.now()
  await member.start()
  await finished
  const rate = RECORDS / ((performance.now() - start) / 1000)
  await member.close()
  await producer.close()
  return rate
}

const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url))
function cli(from: string, to: string): { wall: number; inner: number } {
  const t0 = performance.now()
  const result = spawnSync(
    process.execPath,
    [
      bin,
      '--backend',
      `kafka://${brokers.join(',')}`,
      'topic',
      'migrate',
      from,
      to,
      '--partitions',
      String(TO),
      '--no-verify',
      '--json',
    ],
    { encoding: 'utf8' },
  )
  const wall = performance.now() - t0
  if (result.status !== 0) throw new Error(result.stderr)
  const out = JSON.parse(result.stdout) as { copied: number; recordsPerSecond: number }
  if (out.copied !== RECORDS) throw new Error(`copied ${out.copied} of ${RECORDS}`)
  return { wall: RECORDS / (wall / 1000), inner: out.recordsPerSecond }
}

const source = `bench-migrate-${run}`
await seed(source)
const raw: number[] = []
const inner: number[] = []
const whole: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  raw.push(await rawLoop(source, `${source}-raw-${round}`, round))
  const keyed = cli(source, `${source}-cli-${round}`)
  inner.push(keyed.inner)
  whole.push(keyed.wall)
}
console.log(
  `topic migrate, ${RECORDS.toLocaleString('en-US')} records, ${FROM} → ${TO} partitions on Kafka, ${ROUNDS} rounds (median (min–max))`,
)
console.log(`  raw loop of the adapter  ${spread(raw)} records/s`)
console.log(`  keyed topic migrate      ${spread(inner)} records/s, ratio ${spread(ratios(inner, raw), 'ratio')}`)
console.log(
  `  whole command            ${spread(whole)} records/s (Node's start, group join, end check), ratio ${spread(ratios(whole, raw), 'ratio')}`,
)
await client.close()
