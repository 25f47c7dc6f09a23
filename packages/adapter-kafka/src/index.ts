export { kafka } from './backend.js'
export type { KafkaLogLevel, KafkaOptions, KafkaRetryOptions, KafkaSasl } from './options.js'
