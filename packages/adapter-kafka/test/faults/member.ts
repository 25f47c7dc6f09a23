// A consumer-group member in its own process, so a test can SIGKILL it mid-batch.
// Usage: node --import tsx member.ts <brokers> <topic> <partitions> <groupId>; prints one JSON line per handled record.
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { kafka } from '../../src/index.js'

const [brokers, topicName, partitions, groupId] = process.argv.slice(2) as [string, string, string, string]
const topic = defineTopic(topicName, { partitions: Number(partitions), value: serdes.json<{ seq: number }>() })
const client = createClient({ backend: kafka({ brokers: brokers.split(','), logLevel: 'nothing' }) })
await client.consumer({ groupId, maxBatchSize: 10, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 }).subscribe(
  topic,
  async (m) => {
    // Slow enough that a kill lands inside a batch, after some of its records were handled but before its commit.
    await new Promise((resolve) => setTimeout(resolve, 15))
    process.stdout.write(JSON.stringify({ key: m.key, seq: m.value.seq, partition: m.partition, offset: m.offset }) + '\n')
  },
  { fromBeginning: true },
)
process.stdout.write('{"joined":true}\n')
