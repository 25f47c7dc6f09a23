// A consumer-group member in its own process, so a test can SIGKILL or SIGSTOP it mid-batch.
// Usage: node --import tsx member.ts <brokers> <topic> <partitions> <groupId> [options JSON]; prints one JSON line per
// handled record and {"committed":[{partition,offset}]} after each commit. Options: maxBatchSize (default 10), started:
// true to also print {"started":…} when a record begins, rebalances: true to print {"assigned":[partitions]} and
// {"revoked":[partitions]} as the member hears of them,
// concurrency (default 1; above it records of different keys run at once) with handler times spread over 5–35 ms, so
// records finish out of offset order and a kill finds some finished past the committed prefix.
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { kafka } from '../../src/index.js'
import { TRANSPORT } from '../support/brokers.js'

const [brokers, topicName, partitions, groupId, json] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
]
const options = JSON.parse(json ?? '{}') as {
  maxBatchSize?: number
  started?: boolean
  concurrency?: number
  rebalances?: boolean
}
const print = (event: 'assigned' | 'revoked') => (tps: readonly { partition: number }[]) =>
  options.rebalances && process.stdout.write(JSON.stringify({ [event]: tps.map((tp) => tp.partition) }) + '\n')
const concurrency = options.concurrency ?? 1
const topic = defineTopic(topicName, { partitions: Number(partitions), value: serdes.json<{ seq: number }>() })
const client = createClient({ backend: kafka({ ...TRANSPORT, brokers: brokers.split(','), logLevel: 'nothing' }) })
const consumer = client.consumer({
  groupId,
  maxBatchSize: options.maxBatchSize ?? 10,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  concurrency,
  onPartitionsAssigned: print('assigned'),
  onPartitionsRevoked: print('revoked'),
})
consumer.on('committed', ({ offsets }) =>
  process.stdout.write(
    JSON.stringify({ committed: offsets.map(({ partition, offset }) => ({ partition, offset })) }) + '\n',
  ),
)
await consumer.subscribe(
  topic,
  async (m) => {
    const record = { key: m.key, seq: m.value.seq, partition: m.partition, offset: m.offset }
    if (options.started) process.stdout.write(JSON.stringify({ started: record }) + '\n')
    // Slow enough that a kill lands inside a batch, after some of its records were handled but before its commit.
    await new Promise((resolve) => setTimeout(resolve, concurrency > 1 ? 5 + Math.random() * 30 : 15))
    process.stdout.write(JSON.stringify(record) + '\n')
  },
  { fromBeginning: true },
)
process.stdout.write('{"joined":true}\n')
