import { kafka, type KafkaClientName, type KafkaOptions } from '../../src/index.js'

export const BROKER = '127.0.0.1:9092'
/** The fault tests' three-node cluster (scripts/kafka-cluster.sh); KEYED_KAFKA_CLUSTER_PORT moves it, as it moves the script's. */
const CLUSTER_BASE = Number(process.env.KEYED_KAFKA_CLUSTER_PORT ?? 19092)
export const CLUSTER = [0, 1, 2].map((n) => `127.0.0.1:${CLUSTER_BASE + n}`)

/** The transport under test: the vitest project sets KEYED_KAFKA_CLIENT (kafkajs when unset). */
export const CLIENT: KafkaClientName = process.env.KEYED_KAFKA_CLIENT === 'platformatic' ? 'platformatic' : 'kafkajs'
/** KEYED_KAFKA_REBALANCE=eager runs the platformatic transport's tests with eager rebalancing (cooperative by default). */
export const TRANSPORT: Pick<KafkaOptions, 'client' | 'rebalance'> = {
  client: CLIENT,
  ...(CLIENT === 'platformatic' && process.env.KEYED_KAFKA_REBALANCE === 'eager' && { rebalance: 'eager' as const }),
}

/** The adapter as the tests use it: kafkajs's own logging off so failures stay readable. */
export const testKafka = (options: Partial<KafkaOptions> = {}) =>
  kafka({ brokers: [BROKER], logLevel: 'nothing', ...TRANSPORT, ...options })

/** Settings under which Kafka's cleaner is observable within a test. */
export const FAST_CLEANUP = {
  'segment.ms': '100',
  'min.cleanable.dirty.ratio': '0.01',
  'delete.retention.ms': '500',
  'min.compaction.lag.ms': '0',
}
