import { kafka, type KafkaClientName, type KafkaOptions } from '../../src/index.js'

export const BROKER = '127.0.0.1:9092'
export const CLUSTER = ['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094']

/** The transport under test: the vitest project sets KEYED_KAFKA_CLIENT (kafkajs when unset). */
export const CLIENT: KafkaClientName = process.env.KEYED_KAFKA_CLIENT === 'platformatic' ? 'platformatic' : 'kafkajs'
export const TRANSPORT: Pick<KafkaOptions, 'client'> = { client: CLIENT }

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
