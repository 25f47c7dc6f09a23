// Uses the public API of every runtime package as an app would. Compiled twice: with Node's types, and with none
// (tsconfig.public.json), which proves the public types need no @types/node.
import { createClient, defineTopic, isKeyedError, partitionFor, serdes, type Message } from '@keyed/sdk'
import { assignPartitions, type Backend } from '@keyed/sdk/backend'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { kafka, type KafkaTlsOptions } from '@keyed/adapter-kafka'
import { redis } from '@keyed/adapter-redis'
import { analyzeKeys, LineKeys, run } from '@keyed/cli'

const orders = defineTopic('orders', { value: serdes.json<{ amount: number }>(), partitions: 12 })
const settings = defineTopic('settings', { value: serdes.json<{ theme: string }>(), cleanupPolicy: 'compact' })
const clicks = defineTopic('clicks', { value: serdes.json<{ page: string }>(), ordering: 'none' })

const tls: KafkaTlsOptions = { ca: new Uint8Array(0), servername: 'kafka-1', minVersion: 'TLSv1.2' }

export function backends(): Backend[] {
  return [
    memory({ broker: new MemoryBroker({ now: () => 0 }) }),
    kafka({ brokers: ['kafka-1:9093'], ssl: tls }),
    redis({ url: 'redis://cache:6379' }),
  ]
}

export async function use(backend: Backend): Promise<number> {
  const client = createClient({ backend })
  const producer = client.producer({ ordering: 'strict' })
  await producer.send(orders, { key: 'customer-1', value: { amount: 1 } })
  await producer.send(clicks, { value: { page: '/' } })
  await producer.tombstone(settings, 'user-1')
  // @ts-expect-error an ordered topic needs a key
  await producer.send(orders, { value: { amount: 1 } })
  // @ts-expect-error a tombstone needs a compacted topic
  await producer.tombstone(orders, 'customer-1')
  const consumer = client.consumer({ groupId: 'billing' })
  await consumer.subscribe(settings, (msg: Message<typeof settings>) => {
    const theme: string | undefined = msg.value?.theme
    void theme
  })
  try {
    await consumer.close()
  } catch (error) {
    if (isKeyedError(error, 'TIMEOUT') && error.retriable) return -1
  }
  await client.close()
  return partitionFor('customer-1', 12) + assignPartitions.length
}

/** @keyed/cli's exports: keys of a text counted from plain bytes, and the command line run in-process. */
export async function cli(text: Uint8Array): Promise<number> {
  const analysis = analyzeKeys(new LineKeys(text), 6)
  return analysis.records + (await run(['keys', 'analyze', '--keys', '-', '--partitions', '6']))
}
