// Throughput of keyed on Kafka, on both transports (kafkajs and @platformatic/kafka), against raw kafkajs with the same
// settings and Kafka's own Java tools, on the same broker, in one run.
// Usage: npm run bench:kafka (starts nothing: run `npm run services` or bash scripts/kafka-start.sh first). On a Node
// older than @platformatic/kafka 2.x supports, it runs itself on Node 22 (scripts/node-lines.sh --bin, cached).
// Env: KAFKA_BROKERS (default 127.0.0.1:9092), RECORDS (default 50000), BATCH (default 500), ROUNDS (default 5; median and min–max),
// SINGLES (keyed's concurrent single sends, default 20000; 0 skips them), RAW_SINGLES (kafkajs's, default 5000: it manages ~4k/s),
// JAVA=0 skips Kafka's own ProducerPerformance and ConsumerPerformance (run through scripts/kafka-tools.sh, which resolves
// kafka-tools once); TRANSPORTS (default "kafkajs platformatic") picks the keyed transports.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { kafka, type KafkaClientName } from '@keyed/adapter-kafka'
import { runOnPlatformaticNode } from './node-line.js'
import { median, ratios, spread } from './rounds.js'

const TRANSPORTS = (process.env.TRANSPORTS ?? 'kafkajs platformatic').split(/\s+/).filter(Boolean) as KafkaClientName[]
if (TRANSPORTS.includes('platformatic')) runOnPlatformaticNode(import.meta.url)

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

async function keyedProduce(topic: string, transport: KafkaClientName): Promise<number> {
  const client = createClient({
    backend: kafka({
      client: transport,
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

async function keyedSingles(topic: string, transport: KafkaClientName): Promise<number> {
  const client = createClient({ backend: kafka({ client: transport, brokers, logLevel: 'nothing' }) })
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

/** Kafka's Java consumer on the same broker reading a topic from the start: fetch.nMsg.sec (rebalance time excluded, as the others measure from the first record). */
function javaConsume(topic: string, records: number): number | undefined {
  const script = fileURLToPath(new URL('../scripts/kafka-tools.sh', import.meta.url))
  const run = spawnSync(
    'bash',
    [
      script,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      brokers.join(','),
      '--topic',
      topic,
      '--messages',
      String(records),
      '--group',
      `bench-java-${topic}`,
      '--timeout',
      '60000',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  )
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const fields =
    run.stdout
      .trim()
      .split('\n')
      .at(-1)
      ?.split(',')
      .map((f) => f.trim()) ?? []
  const perSec = Number(fields[9])
  if (!(perSec > 0)) {
    console.error(
      `ConsumerPerformance did not run (exit ${String(run.status)}): ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`,
    )
    return undefined
  }
  return perSec
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

async function keyedConsume(topic: string, transport: KafkaClientName): Promise<number> {
  const client = createClient({
    backend: kafka({
      client: transport,
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

type Row = Record<string, number[]>
const results = { produce: {} as Row, consume: {} as Row, singles: {} as Row }
const add = (row: Row, who: string, value: number) => void (row[who] ??= []).push(value)
const keyedName = (t: KafkaClientName) => `keyed (${t})`
console.log(
  `keyed on ${TRANSPORTS.join(' and ')} vs kafkajs 2.2.4 and Kafka's Java tools on ${brokers.join(',')}, Node ${process.versions.node}: ` +
    `${RECORDS} records of ${bytesPerValue}-byte JSON values, batches of ${BATCH}, ${PARTITIONS} partitions, strict producer, ` +
    `${ROUNDS} rounds, the order of the clients rotating`,
)
for (let r = 0; r < ROUNDS; r++) {
  // Rotate who goes first so no one always gets the warmer JIT or broker.
  const order = ['raw', ...TRANSPORTS] as const
  const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)]
  for (const who of rotated) {
    const topic = topicName(who)
    if (who === 'raw') {
      await createTopic(topic)
      add(results.produce, 'raw kafkajs', await rawProduce(topic))
      add(results.consume, 'raw kafkajs', await rawConsume(topic))
    } else {
      add(results.produce, keyedName(who), await keyedProduce(topic, who))
      add(results.consume, keyedName(who), await keyedConsume(topic, who))
    }
  }
  if (SINGLES > 0) {
    for (const who of rotated) {
      if (who === 'raw') {
        const singles = topicName('singles-raw')
        await createTopic(singles)
        add(results.singles, 'raw kafkajs', await rawSingles(singles))
      } else add(results.singles, keyedName(who), await keyedSingles(topicName(`singles-${who}`), who))
    }
  }
}
if (JAVA) {
  const javaTopic = topicName('java')
  await createTopic(javaTopic)
  const produced = javaSingles(javaTopic)
  if (produced !== undefined) {
    // ProducerPerformance is the Java producer's only mode: one send() per record, batched by its accumulator.
    add(results.produce, 'Java', produced)
    add(results.singles, 'Java', produced)
    const consumed = javaConsume(javaTopic, Math.max(SINGLES, 200_000))
    if (consumed !== undefined) add(results.consume, 'Java', consumed)
  }
}
const columns = ['raw kafkajs', ...TRANSPORTS.map(keyedName), 'Java']
console.log('')
console.log('records/s, median (min–max) of the rounds (Java: one run); ratios of medians')
console.log(
  `| case | ${columns.join(' | ')} | ${TRANSPORTS.map((t) => `keyed ${t} / raw`).join(' | ')} | ${TRANSPORTS.map((t) => `keyed ${t} / Java`).join(' | ')} |`,
)
console.log(
  `|---|${columns.map(() => '---:').join('|')}|${TRANSPORTS.map(() => '---:').join('|')}|${TRANSPORTS.map(() => '---:').join('|')}|`,
)
const ratio = (a: number[] | undefined, b: number[] | undefined) =>
  a?.length && b?.length ? (median(a) / median(b)).toFixed(2) : '—'
for (const [name, row] of Object.entries(results)) {
  if (Object.keys(row).length === 0) continue
  const cells = columns.map((c) => (row[c]?.length ? spread(row[c]) : '—'))
  const vsRaw = TRANSPORTS.map((t) => ratio(row[keyedName(t)], row['raw kafkajs']))
  const vsJava = TRANSPORTS.map((t) => ratio(row[keyedName(t)], row.Java))
  console.log(`| ${name} | ${cells.join(' | ')} | ${vsRaw.join(' | ')} | ${vsJava.join(' | ')} |`)
}
if (results.produce['raw kafkajs'] && TRANSPORTS.length > 0) {
  console.log('')
  console.log('per-round ratios, keyed / raw kafkajs:')
  for (const t of TRANSPORTS)
    for (const [name, row] of Object.entries(results))
      if (row[keyedName(t)] && row['raw kafkajs'])
        console.log(`  ${t} ${name}: ${spread(ratios(row[keyedName(t)]!, row['raw kafkajs']), 'ratio')}`)
}
console.log('')
console.log(
  `singles: keyed ${SINGLES} concurrent single-record sends, kafkajs ${RAW_SINGLES}; Java ProducerPerformance: idempotent, acks=all, ` +
    `max.in.flight=1, linger.ms=5, ${Math.max(SINGLES, 200_000)} records of ${bytesPerValue} bytes; ConsumerPerformance reads them back.`,
)
