// One side of the Kafka consume case at a time, for a CPU profile and for CPU time per record (less sensitive to a
// loaded machine than records/s). Same settings as bench:kafka's consume case.
// Usage: PRODUCE=1 RECORDS=600000 npx tsx kafka-consume.ts            (prints the topic it filled)
//        TOPIC=<topic> RECORDS=600000 WHO=keyed|raw [TELEMETRY=off] node [--cpu-prof] --import tsx kafka-consume.ts
//        npx tsx cpuprofile.ts <the largest .cpuprofile written>
import kafkajs from 'kafkajs'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { kafka } from '@keyed/adapter-kafka'

const { Kafka, logLevel } = kafkajs
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const RECORDS = Number(process.env.RECORDS ?? 200_000)
const BATCH = 500
const WHO = process.env.WHO ?? 'keyed'
type Value = { id: number; customer: string; amount: number; currency: string; note: string }
const keyOf = (i: number) => `customer-${i % 1000}`
const valueOf = (i: number): Value => ({
  id: i,
  customer: keyOf(i),
  amount: i % 977,
  currency: 'EUR',
  note: 'x'.repeat(30),
})
const topic = process.env.TOPIC ?? `bench-consume-${Date.now().toString(36)}`
const raw = new Kafka({ brokers, clientId: 'bench-consume', logLevel: logLevel.NOTHING })

if (process.env.PRODUCE) {
  const admin = raw.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }] })
  await admin.disconnect()
  const producer = raw.producer()
  await producer.connect()
  for (let i = 0; i < RECORDS; i += 1000) {
    await producer.send({
      topic,
      messages: Array.from({ length: 1000 }, (_, j) => ({ key: keyOf(i + j), value: JSON.stringify(valueOf(i + j)) })),
    })
  }
  await producer.disconnect()
  console.log(topic)
  process.exit(0)
}

const threads = async () => { const fs = await import("node:fs"); const per: Record<string, number> = {}; for (const t of fs.readdirSync("/proc/self/task")) { const s = fs.readFileSync(`/proc/self/task/${t}/stat`, "utf8"); const f = s.slice(s.lastIndexOf(")") + 2).split(" "); per[t === String(process.pid) ? "main" : t] = (Number(f[11]) + Number(f[12])) * 10 }; return per }
let t0: Record<string, number> = {}
let count = 0
let first = 0
let sum = 0
let cpu: NodeJS.CpuUsage | undefined
const started = () => {
  first = performance.now()
  cpu = process.cpuUsage()
  void threads().then((t) => (t0 = t))
}
let finish: (perSec: number) => void = () => {}
const done = new Promise<number>((resolve) => (finish = resolve))
const group = `bench-consume-${WHO}-${Date.now().toString(36)}`
let stop: () => Promise<void>
if (WHO === 'keyed') {
  const client = createClient({
    backend: kafka({ brokers, logLevel: 'nothing', partitionsConsumedConcurrently: 4, maxWaitTimeMs: 500 }),
    // TELEMETRY=off: without the span and metrics per record that @opentelemetry/api (installed here) turns on.
    ...(process.env.TELEMETRY === 'off' && { telemetry: false as const }),
  })
  const t = defineTopic(topic, { partitions: 6, value: serdes.json<Value>() })
  await client.consumer({ groupId: group, maxBatchSize: BATCH }).subscribe(
    t,
    (m) => {
      if (!first) started()
      sum += m.value.amount + m.key.length
      if (++count === RECORDS) finish(RECORDS / ((performance.now() - first) / 1000))
    },
    { fromBeginning: true },
  )
  stop = () => client.close()
} else {
  const consumer = raw.consumer({ groupId: group, maxWaitTimeInMs: 500 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  void consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
      if (!first) started()
      for (let i = 0; i < batch.messages.length; i += BATCH) {
        const chunk = batch.messages.slice(i, i + BATCH)
        for (const m of chunk)
          sum += (JSON.parse(m.value!.toString('utf8')) as Value).amount + m.key!.toString('utf8').length
        const last = chunk[chunk.length - 1]!.offset
        resolveOffset(last)
        await commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(Number(last) + 1) }] }],
        })
        await heartbeat()
        count += chunk.length
      }
      if (count >= RECORDS) finish(RECORDS / ((performance.now() - first) / 1000))
    },
  })
  stop = () => consumer.disconnect()
}
const perSec = await done
{ const t1 = await threads(); let bg = 0; const d: string[] = []; for (const k in t1) if (k !== "main") { bg += t1[k]! - (t0[k] ?? 0); d.push(`${k}:${t1[k]! - (t0[k] ?? 0)}`) }; console.error(d.join(" ")); console.error(`main ${t1.main! - t0.main!} ms, other threads ${bg} ms`) }
const used = process.cpuUsage(cpu)
console.log(
  `${WHO} ${Math.round(perSec)} records/s ${(((used.user + used.system) * 1000) / RECORDS).toFixed(0)} ns CPU/record${sum < 0 ? '!' : ''}`,
)
await stop()
process.exit(0)
