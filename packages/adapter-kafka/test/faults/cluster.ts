import kafkajs from 'kafkajs'
import { runScript } from '../support/scripts.js'
import { CLUSTER } from '../support/brokers.js'

export const killNode = (id: number) => runScript('kafka-cluster.sh', 'kill', String(id))
export const restartNode = (id: number) => runScript('kafka-cluster.sh', 'restart', String(id))

/** The broker id leading a partition, asked from a broker other than `avoid` when given. */
export async function leaderOf(topic: string, partition: number): Promise<number> {
  const admin = new kafkajs.Kafka({
    brokers: CLUSTER,
    clientId: 'keyed-test-faults',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin()
  await admin.connect()
  try {
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    const leader = meta?.partitions.find((p) => p.partitionId === partition)?.leader
    if (leader === undefined || leader < 0) throw new Error(`partition ${partition} of ${topic} has no leader`)
    return leader
  } finally {
    await admin.disconnect()
  }
}
