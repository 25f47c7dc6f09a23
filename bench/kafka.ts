// Throughput of keyed on Kafka against raw kafkajs with the same settings, on the same broker, in one run.
// Usage: npm run bench:kafka (starts nothing: run `npm run services` or bash scripts/kafka-start.sh first).
// Env: KAFKA_BROKERS (default 127.0.0.1:9092), RECORDS (default 50000), BATCH (default 500), ROUNDS (default 5; median and min–max),
// SINGLES (keyed's concurrent single sends, default 20000; 0 skips them), RAW_SINGLES (kafkajs's, default 5000: it manages ~4k/s),
// JAVA=0 skips Kafka's own ProducerPerformance (run through scripts/kafka-tools.sh, which resolves kafka-tools once).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { kafka } from '@keyed/adapter-kafka'
import { median, ratios, spread } from './rounds.js'

const { Kafka, logLevel, Partitioners } = kafkajs
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const RECORDS = Number(process.env.RECORDS ?? 50_000)
const BATCH = Number(process.env.BATCH ?? 500)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const PARTITIONS = 6
const CONCURRENCY = 4
const MAX_WAIT_MS = 500
const SINGLES = Number(process.env.SINGLES ?? 20_000)
const RAW_SINGLES = Number(process.env.RAW_SINGLES ?? 5_000)
const JAVA = process.env.JAVA !== '0'

type Value = { id: number; customer: string; amount: number; currency: string; note: string }
const keyOf = (i: number) => `customer-${i % 1000}`
const valueOf = (i: number): Value => ({
  id: i,
  customer: keyOf(i),
  amount: i % 977,
  currency: 'EUR',
  note: 'x'.repeat(30),
})
const bytesPerValue = Buffer.byteLength(JSON.stringify(valueOf(12345)))
const run = Date.now().toString(36)
let seq = 0
const topicName = (who: string) => `bench-${who}-${run}-${seq++}`

const raw = new Kafka({ brokers, clientId: 'bench-raw', logLevel: logLevel.NOTHING })

async function createTopic(name: string): Promise<void> {
  const admin = raw.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: PARTITIONS }] })
  await admin.disconnect()
}

/** Records per second for sending RECORDS records in sequential batches with raw kafkajs (strict: idempotent, acks -1, 1 in flight). */
async function rawProduce(topic: string): Promise<number> {
  const producer = raw.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  const start = performance.now()
  for (let i = 0; i < RECORDS; i += BATCH) {
    const messages = []
    for (let j = i; j < Math.min(i + BATCH, RECORDS); j++)
      messages.push({ key: keyOf(j), value: JSON.stringify(valueOf(j)), timestamp: String(Date.now()) })
    await producer.send({ topic, messages, acks: -1 })
  }
  const rate = RECORDS / ((performance.now() - start) / 1000)
  await producer.disconnect()
  return rate
}

async function keyedProduce(topic: string): Promise<number> {
  const client = createClient({
    backend: kafka({
      brokers,
      logLevel: 'nothing',
      partitionsConsumedConcurrently: CONCURRENCY,
      maxWaitTimeMs: MAX_WAIT_MS,
    }),
  })
  const t = defineTopic(topic, { partitions: PARTITIONS, value: serdes.json<Value>() })
  await client.admin().ensureTopics([t])
  const producer = client.producer({ ordering: 'strict' })
  const start = performance.now()
  for (let i = 0; i < RECORDS; i += BATCH) {
    const records = []
    for (let j = i; j < Math.min(i + BATCH, RECORDS); j++) records.push({ key: keyOf(j), value: valueOf(j) })
    await producer.send(t, records)
  }
  const rate = RECORDS / ((performance.now() - start) / 1000)
  await client.close()
  return rate
}

/** Concurrent single-record sends, one per caller, as a server does per incoming request: raw kafkajs, same strict settings. */
async function rawSingles(topic: string): Promise<number> {
  const producer = raw.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  const start = performance.now()
  await Promise.all(
    Array.from({ length: RAW_SINGLES }, (_, i) =>
      producer.send({
        topic,
        acks: -1,
        messages: [{ key: keyOf(i), value: JSON.stringify(valueOf(i)), timestamp: String(Date.now()) }],
      }),
    ),
  )
  const rate = RAW_SINGLES / ((performance.now() - start) / 1000)
  await producer.disconnect()
  return rate
}

async function keyedSingles(topic: string): Promise<number> {
  const client = createClient({ backend: kafka({ brokers, logLevel: 'nothing' }) })
  const t = defineTopic(topic, { partitions: PARTITIONS, value: serdes.json<Value>() })
  await client.admin().ensureTopics([t])
  const producer = client.producer({ ordering: 'strict' })
  await producer.send(t, { key: keyOf(0), value: valueOf(0) })
  const start = performance.now()
  await Promise.all(Array.from({ length: SINGLES }, (_, i) => producer.send(t, { key: keyOf(i), value: valueOf(i) })))
  const rate = SINGLES / ((performance.now() - start) / 1000)
  await client.close()
  return rate
}

/** Kafka's Java producer on the same broker: idempotent, acks=all, one request in flight, linger.ms=5, one send() per record. */
function javaSingles(topic: string): number | undefined {
  const script = fileURLToPath(new URL('../scripts/kafka-tools.sh', import.meta.url))
  const props = [
    `bootstrap.servers=${brokers.join(',')}`,
    'enable.idempotence=true',
    'acks=all',
    'max.in.flight.requests.per.connection=1',
    'linger.ms=5',
  ]
  const run = spawnSync(
    'bash',
    [
      script,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(Math.max(SINGLES, 200_000)),
      '--record-size',
      String(bytesPerValue),
      '--throughput',
      '-1',
      '--producer-props',
      ...props,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  )
  const perSec = /records sent, ([\d.]+) records\/sec/.exec(run.stdout.split('\n').filter(Boolean).at(-1) ?? '')?.[1]
  if (perSec === undefined) {
    console.error(
      `ProducerPerformance did not run (exit ${String(run.status)}): ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`,
    )
    return undefined
  }
  return Number(perSec)
}

/** Records per second from the first record to the last: decode every value, commit after every batch. */
async function rawConsume(topic: string): Promise<number> {
  const consumer = raw.consumer({
    groupId: `bench-raw-${topic}`,
    maxWaitTimeInMs: MAX_WAIT_MS,
    allowAutoTopicCreation: false,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let count = 0
  let first = 0
  let sum = 0
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: CONCURRENCY,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
        first ||= performance.now()
        for (let i = 0; i < batch.messages.length; i += BATCH) {
          const chunk = batch.messages.slice(i, i + BATCH)
          for (const m of chunk) {
            const key = m.key!.toString('utf8')
            sum += (JSON.parse(m.value!.toString('utf8')) as Value).amount + key.length
          }
          const last = chunk[chunk.length - 1]!.offset
          resolveOffset(last)
          await commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(Number(last) + 1) }] }],
          })
          await heartbeat()
          count += chunk.length
        }
        if (count >= RECORDS) resolve(RECORDS / ((performance.now() - first) / 1000))
      },
    })
  })
  const rate = await done
  await consumer.disconnect()
  return sum >= 0 ? rate : 0
}

async function keyedConsume(topic: string): Promise<number> {
  const client = createClient({
    backend: kafka({
      brokers,
      logLevel: 'nothing',
      partitionsConsumedConcurrently: CONCURRENCY,
      maxWaitTimeMs: MAX_WAIT_MS,
    }),
  })
  const t = defineTopic(topic, { partitions: PARTITIONS, value: serdes.json<Value>() })
  let count = 0
  let first = 0
  let sum = 0
  let resolveDone: (rate: number) => void = () => {}
  const done = new Promise<number>((resolve) => (resolveDone = resolve))
  await client.consumer({ groupId: `bench-keyed-${topic}`, maxBatchSize: BATCH }).subscribe(
    t,
    (m) => {
      first ||= performance.now()
      sum += m.value.amount + m.key.length
      if (++count === RECORDS) resolveDone(RECORDS / ((performance.now() - first) / 1000))
    },
    { fromBeginning: true },
  )
  const rate = await done
  await client.close()
  return sum >= 0 ? rate : 0
}

const results = {
  rawProduce: [] as number[],
  keyedProduce: [] as number[],
  rawConsume: [] as number[],
  keyedConsume: [] as number[],
  rawSingles: [] as number[],
  keyedSingles: [] as number[],
  java: [] as number[],
}
console.log(
  `keyed vs kafkajs 2.2.4 on ${brokers.join(',')}: ${RECORDS} records of ${bytesPerValue}-byte JSON values, batches of ${BATCH}, ${PARTITIONS} partitions, strict producer, ${ROUNDS} rounds, keyed and raw alternating`,
)
for (let r = 0; r < ROUNDS; r++) {
  // Alternate who goes first so neither always gets the warmer JIT or broker.
  const order = r % 2 === 0 ? (['raw', 'keyed'] as const) : (['keyed', 'raw'] as const)
  for (const who of order) {
    const topic = topicName(who)
    if (who === 'raw') {
      await createTopic(topic)
      results.rawProduce.push(await rawProduce(topic))
      results.rawConsume.push(await rawConsume(topic))
    } else {
      results.keyedProduce.push(await keyedProduce(topic))
      results.keyedConsume.push(await keyedConsume(topic))
    }
  }
  if (SINGLES > 0) {
    const singles = topicName('singles-raw')
    await createTopic(singles)
    results.rawSingles.push(await rawSingles(singles))
    results.keyedSingles.push(await keyedSingles(topicName('singles-keyed')))
  }
}
if (JAVA) {
  const javaTopic = topicName('singles-java')
  await createTopic(javaTopic)
  const perSec = javaSingles(javaTopic)
  if (perSec !== undefined) results.java.push(perSec)
}
const row = (name: string, raw: number[], keyed: number[]) =>
  console.log(`| ${name} | ${spread(raw)} | ${spread(keyed)} | ${spread(ratios(keyed, raw), 'ratio')} |`)
console.log('')
console.log('median (min–max) of the rounds; the ratio is keyed / kafkajs within each round')
console.log('| records/s | kafkajs | keyed | ratio |')
console.log('|---|---:|---:|---:|')
row('produce', results.rawProduce, results.keyedProduce)
row('consume', results.rawConsume, results.keyedConsume)
if (SINGLES > 0) {
  row('singles', results.rawSingles, results.keyedSingles)
  console.log('')
  console.log(
    `concurrent single-record sends (keyed ${SINGLES}, kafkajs ${RAW_SINGLES} calls, all at once; strict: idempotent, acks all, 1 in flight):`,
  )
  console.log(
    `  keyed singles vs keyed batches of ${BATCH}: ${spread(ratios(results.keyedSingles, results.keyedProduce), 'ratio')}`,
  )
  console.log(
    `  keyed singles vs kafkajs singles:        ${spread(ratios(results.keyedSingles, results.rawSingles), 'ratio')}`,
  )
}
if (results.java.length && results.keyedSingles.length) {
  console.log(
    `  Java ProducerPerformance (idempotent, acks=all, max.in.flight=1, linger.ms=5, ${bytesPerValue}-byte values): ${spread(results.java)} records/s; keyed singles / Java (medians): ${(median(results.keyedSingles) / median(results.java)).toFixed(2)}`,
  )
}
