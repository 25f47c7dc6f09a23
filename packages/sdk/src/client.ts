import type { Backend, TopicDescription } from './backend/contract.js'
import { ClosedError, ConfigError } from './errors.js'
import { Consumer, type ConsumerOptions } from './consumer.js'
import { groupLag, type GroupLag } from './lag.js'
import { resolveLogger, type Logger } from './logger.js'
import { createTelemetry } from './telemetry/index.js'
import type { TelemetryOptions } from './telemetry/options.js'
import { Producer, type ProducerOptions } from './producer.js'
import { resetOffsets, type OffsetResetTarget } from './reset-offsets.js'
import { Table, type TableOptions } from './table.js'
import { checkTopic, type AnyTopic, type CompactedTopic } from './topic.js'
import { TopicResolver } from './topic-resolver.js'

export interface ClientOptions {
  /** The transport: memory(), kafka({ brokers }), redis({ url }). */
  backend: Backend
  clientId?: string
  /** Create declared topics that do not exist yet on first use. Default true; turn off where topics are provisioned apart. */
  autoCreateTopics?: boolean
  /** When the backend's partition count differs from the declaration: fail (default) or use the backend's. */
  topicMismatch?: 'error' | 'follow-backend'
  /**
   * Where the client, its consumers and tables and the backend log: any pino-compatible logger
   * (`debug/info/warn/error(obj, msg)`). Default: quiet except for errors, which go to stderr.
   */
  logger?: Logger
  /**
   * OpenTelemetry: with @opentelemetry/api installed, a PRODUCER span per send() call with the trace context in the
   * records' headers, a CONSUMER span per handled record, and messaging metrics, through the global providers or the
   * ones given here. `false` turns it off. Without the API installed nothing is loaded.
   */
  telemetry?: TelemetryOptions | false
}

export interface Admin {
  /** Creates missing topics as declared and checks existing ones; a drifted topic is a TopicMismatchError. */
  ensureTopics(topics: readonly AnyTopic[]): Promise<TopicDescription[]>
  /** The topic as the backend has it, or undefined. */
  describeTopic(topic: AnyTopic | string): Promise<TopicDescription | undefined>
  /**
   * How far a consumer group is behind in a topic (without one: every topic it committed in): per partition its
   * committed position, the partition's end and the records between, and the total.
   */
  lag(groupId: string, topic?: AnyTopic | string): Promise<GroupLag>
  /**
   * Moves a consumer group's positions in a topic (see OffsetResetTarget): its members, once started, read from
   * there. Refused with a GroupInUseError, changing nothing, while the group has live members (they would commit
   * over it); a running member moves its own partitions with consumer.seek(). An offset past the end (or before the
   * oldest surviving record) is clamped to that edge, as kafka-consumer-groups does, and logged at warn; a malformed
   * offset or a partition the topic lacks is a ConfigError.
   */
  resetOffsets(groupId: string, topic: AnyTopic | string, to: OffsetResetTarget): Promise<void>
}

export interface Client {
  readonly backend: Backend
  producer(options?: ProducerOptions): Producer
  consumer(options: ConsumerOptions): Consumer
  /**
   * The latest value of every key of a compacted topic, kept current in memory: `await table.ready()`, then
   * `get`/`has`/`entries`/`subscribe`. A topic that is not compacted is a type error (ConfigError at run time).
   */
  table<T extends CompactedTopic>(topic: T, options?: TableOptions): Table<T>
  admin(): Admin
  /** Closes every table, producer and consumer made by this client (consumers commit first), then the backend. */
  close(): Promise<void>
}

const nameOf = (topic: AnyTopic | string) => (typeof topic === 'string' ? topic : topic.name)

export function createClient(options: ClientOptions): Client {
  const backend = options?.backend
  if (!backend || typeof backend.producer !== 'function' || typeof backend.consumer !== 'function') {
    throw new ConfigError(
      'createClient needs a backend: createClient({ backend: memory() }) with memory from @keyed/adapter-memory, or kafka()/redis().',
    )
  }
  const topicMismatch = options.topicMismatch ?? 'error'
  if (topicMismatch !== 'error' && topicMismatch !== 'follow-backend') {
    throw new ConfigError(`topicMismatch must be 'error' or 'follow-backend', got '${String(topicMismatch)}'.`)
  }
  const logger = resolveLogger(options.logger)
  const telemetry = createTelemetry(options.telemetry, backend.name, options.clientId)
  backend.setLogger?.(logger)
  const topics = new TopicResolver(backend, { autoCreateTopics: options.autoCreateTopics ?? true, topicMismatch })
  const producers = new Set<Producer>()
  const consumers = new Set<Consumer>()
  const tables = new Set<{ close(): Promise<void> }>()
  let closed = false
  const open = (what: string) => {
    if (closed) throw new ClosedError(`client (asked for a ${what})`)
  }
  return {
    backend,
    producer(producerOptions = {}) {
      open('producer')
      const producer = new Producer(backend, topics, producerOptions, options.clientId, telemetry)
      producers.add(producer)
      return producer
    },
    consumer(consumerOptions) {
      open('consumer')
      const consumer = new Consumer(backend, topics, consumerOptions, options.clientId, logger, telemetry)
      consumers.add(consumer)
      return consumer
    },
    table(topic, tableOptions = {}) {
      open('table')
      const table = new Table(backend, topics, topic, tableOptions, options.clientId, logger)
      tables.add(table)
      return table
    },
    admin() {
      open('admin')
      return {
        async ensureTopics(list) {
          const out: TopicDescription[] = []
          for (const topic of list) {
            checkTopic(topic, 'ensureTopics()')
            await topics.resolve(topic, true)
            out.push((await backend.describeTopic(topic.name))!)
          }
          return out
        },
        describeTopic(topic) {
          return backend.describeTopic(nameOf(topic))
        },
        lag(groupId, topic) {
          return groupLag(backend, groupId, topic === undefined ? undefined : [nameOf(topic)])
        },
        resetOffsets: (groupId, topic, to) => resetOffsets(backend, groupId, topic, to, logger),
      }
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...tables].map((t) => t.close().catch(() => undefined)))
      // Everything is closed even when one close fails (a consumer's close timed out, say); then the first error is thrown.
      const results = await Promise.allSettled([...consumers].map((c) => c.close()))
      results.push(...(await Promise.allSettled([...producers].map((p) => p.close()))))
      results.push(...(await Promise.allSettled([backend.close()])))
      const failed = results.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    },
  }
}
