export { defineTopic, isTopic } from './topic.js'
export type {
  AnyTopic,
  CleanupPolicy,
  Compacted,
  CompactedTopic,
  DataDef,
  Headers,
  HeadersInputOf,
  HeadersOf,
  KeyInputOf,
  KeyOf,
  KeyRequired,
  Ordering,
  Topic,
  TopicOptions,
  ValueInputOf,
  ValueOf,
} from './topic.js'
export { serdes, type Serde } from './serdes.js'
export type { StandardSchemaV1 } from './schema.js'
export type { AbortSignalLike, KeyedAbortSignal } from './signal.js'
export { murmur2, partitionFor, toPositive } from './murmur2.js'
export {
  murmur2Partitioner,
  STICKY_BATCH_BYTES,
  type NullKeyStrategy,
  type PartitionContext,
  type Partitioner,
} from './partitioners.js'
export { createClient, type Admin, type Client, type ClientOptions } from './client.js'
export { Producer, type ProducerOptions, type RecordMetadata, type SendOptions, type SendRecord } from './producer.js'
export type { OffsetResetTarget } from './reset-offsets.js'
export {
  Consumer,
  DEAD_LETTER_HEADERS,
  type BatchHandler,
  type CloseOptions,
  type ConsumerOptions,
  type DeadLetterOptions,
  type Handler,
  type Message,
  type MessageBatch,
  type MessagesOptions,
  type RetryOptions,
  type SubscribeBatchOptions,
  type SubscribeOptions,
} from './consumer.js'
export { Table, type TableChange, type TableListener, type TableOptions } from './table.js'
export * from './errors.js'
export { defaultLogger, type Logger } from './logger.js'
export type { Backend, BackendCapabilities, Compression, TopicDescription, TopicPartition } from './backend/contract.js'
export { groupLag, type GroupLag } from './lag.js'
export type { TelemetryOptions } from './telemetry/options.js'
export type { ConsumerEventName, ConsumerEvents, ConsumerListener } from './events.js'
