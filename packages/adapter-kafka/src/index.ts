export { kafka } from './backend.js'
export type { KafkaLogLevel, KafkaOptions, KafkaRetryOptions, KafkaSasl, KafkaTlsOptions } from './options.js'
