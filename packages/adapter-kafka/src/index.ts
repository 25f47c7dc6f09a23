export { kafka } from './backend.js'
export type {
  KafkaClientName,
  KafkaLogLevel,
  KafkaOptions,
  KafkaRetryOptions,
  KafkaSasl,
  KafkaTlsOptions,
} from './options.js'
