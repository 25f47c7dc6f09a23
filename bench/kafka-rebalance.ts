// What a rebalance costs the members that stay: a group of 4 members under a steady load, one leaves (close()), and
// for every partition the others kept, the longest time it went unhandled around the leave; for the leaver's
// partitions, how long until their new owner handled a record; and how many records were handled twice.
// kafkajs (eager: every partition of the group stops) against @platformatic/kafka (cooperative-sticky by default, and
// eager for comparison), same broker, same run. Usage: npm run -w bench bench:kafka-rebalance.
// Env: KAFKA_BROKERS (default 127.0.0.1:9092), RATE (records/s produced, default 2000), ROUNDS (default 3).
import { createClient, defineTopic, serdes, type Client } from '@keyed/sdk'
import { kafka, type KafkaOptions } from '@keyed/adapter-kafka'
import { runOnPlatformaticNode } from './node-line.js'
import { spread } from './rounds.js'

runOnPlatformaticNode(import.meta.url)

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const RATE = Number(process.env.RATE ?? 2000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const PARTITIONS = 12
const MEMBERS = 4
const HANDLER_MS = 1
const SETTLE_MS = 6000
const AFTER_MS = 12_000
const run = Date.now().toString(36)
let seq = 0

type Variant = { name: string; options: Partial<KafkaOptions> }
const VARIANTS: Variant[] = [
  { name: 'kafkajs (eager)', options: { client: 'kafkajs' } },
  { name: 'platformatic (cooperative)', options: { client: 'platformatic', rebalance: 'cooperative' } },
  { name: 'platformatic (eager)', options: { client: 'platformatic', rebalance: 'eager' } },
]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome {
  /** Longest gap in handling, over the partitions the remaining members kept, in ms. */
  keptPause: number
  /** Longest time from the leave until a leaver's partition was handled by its new owner, in ms. */
  movedPause: number
  redelivered: number
}

async function once(variant: Variant): Promise<Outcome> {
  const topic = defineTopic(`bench-rebalance-${run}-${seq++}`, {
    partitions: PARTITIONS,
    value: serdes.json<{ i: number }>(),
  })
  const group = `bench-rebalance-${run}-${seq++}`
  const backend = () => kafka({ brokers, logLevel: 'nothing', ...variant.options })
  const producerClient = createClient({ backend: backend() })
  await producerClient.admin().ensureTopics([topic])
  const producer = producerClient.producer()
  let producing = true
  let i = 0
  const load = (async () => {
    while (producing) {
      const batch = Array.from({ length: Math.max(1, RATE / 100) }, () => ({ key: `k-${i % 997}`, value: { i: i++ } }))
      await producer.send(topic, batch)
      await sleep(10)
    }
  })()
  // Per partition: when each of its records was handled, and by whom.
  const handled = new Map<number, Array<{ at: number; member: number }>>()
  const seen = new Set<string>()
  let redelivered = 0
  const members: Client[] = []
  for (let m = 0; m < MEMBERS; m++) {
    const client = createClient({ backend: backend() })
    members.push(client)
    await client.consumer({ groupId: group, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 }).subscribe(
      topic,
      async (msg) => {
        const id = `${msg.partition}@${msg.offset}`
        if (seen.has(id)) redelivered++
        seen.add(id)
        let list = handled.get(msg.partition)
        if (!list) handled.set(msg.partition, (list = []))
        list.push({ at: performance.now(), member: m })
        await sleep(HANDLER_MS)
      },
      { fromBeginning: true },
    )
  }
  await sleep(SETTLE_MS)
  const leaver = MEMBERS - 1
  const owner = new Map([...handled].map(([p, list]) => [p, list.at(-1)!.member]))
  const left = performance.now()
  redelivered = 0
  await members[leaver]!.close()
  await sleep(AFTER_MS)
  producing = false
  await load
  let keptPause = 0
  let movedPause = 0
  for (const [p, list] of handled) {
    const after = list.filter((e) => e.at >= left - 1000)
    if (owner.get(p) === leaver) {
      const first = after.find((e) => e.at > left && e.member !== leaver)
      movedPause = Math.max(movedPause, first ? first.at - left : AFTER_MS)
    } else {
      for (let j = 1; j < after.length; j++) keptPause = Math.max(keptPause, after[j]!.at - after[j - 1]!.at)
      const last = after.at(-1)
      if (last && last.at < left + AFTER_MS - 1000) keptPause = Math.max(keptPause, left + AFTER_MS - last.at)
    }
  }
  await Promise.all(members.map((c) => c.close().catch(() => undefined)))
  await producerClient.close()
  return { keptPause, movedPause, redelivered }
}

console.log(
  `a group of ${MEMBERS} members on ${PARTITIONS} partitions, ${RATE} records/s, a ${HANDLER_MS} ms handler; one member leaves; ` +
    `${ROUNDS} rounds each, Node ${process.versions.node}`,
)
const results = new Map<string, Outcome[]>()
for (let r = 0; r < ROUNDS; r++)
  for (const v of VARIANTS) {
    const outcome = await once(v)
    results.set(v.name, [...(results.get(v.name) ?? []), outcome])
  }
console.log('')
console.log('median (min–max) of the rounds')
console.log(
  "| transport | longest pause of a kept partition (ms) | leaver's partitions handled again after (ms) | records handled twice |",
)
console.log('|---|---:|---:|---:|')
for (const [name, outcomes] of results)
  console.log(
    `| ${name} | ${spread(outcomes.map((o) => o.keptPause))} | ${spread(outcomes.map((o) => o.movedPause))} | ${spread(outcomes.map((o) => o.redelivered))} |`,
  )
