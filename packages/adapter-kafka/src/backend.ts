import kafkajs, { type Admin, type Kafka, type KafkaConfig, type LogEntry, type logLevel as KafkaJsLogLevel } from 'kafkajs'
import type {
  Backend,
  BackendCapabilities,
  BackendConsumer,
  BackendProducer,
  GroupMemberOptions,
  PartitionEnd,
  PartitionReaderOptions,
  BackendReader,
  ProducerSettings,
  TopicDescription,
  TopicSpec,
} from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import { registerCodecs } from './codecs.js'
import { KafkaConsumer } from './consumer.js'
import { endOffsets, KafkaReader } from './reader.js'
import { toKeyedError, type ErrorContext } from './errors.js'
import { redact, secretsOf, type KafkaLogLevel, type KafkaOptions } from './options.js'
import { KafkaProducer } from './producer.js'
import { parseCleanupPolicy, topicConfigEntries } from './topics.js'

const { Kafka: KafkaClient, logLevel, ConfigResourceTypes, Partitioners } = kafkajs

const LOG_LEVELS: Record<KafkaLogLevel, KafkaJsLogLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
}

const CAPABILITIES: BackendCapabilities = { compaction: true, timeRetention: true }

function checkOptions(options: KafkaOptions): void {
  if (!options || !Array.isArray(options.brokers) || options.brokers.length === 0 || !options.brokers.every((b) => typeof b === 'string' && b.length > 0)) {
    throw new ConfigError("kafka() needs brokers: a list of 'host:port' bootstrap servers, e.g. kafka({ brokers: ['127.0.0.1:9092'] }).")
  }
  if (options.logLevel !== undefined && !(options.logLevel in LOG_LEVELS)) {
    throw new ConfigError(`kafka() logLevel must be one of ${Object.keys(LOG_LEVELS).join(', ')}, got '${String(options.logLevel)}'.`)
  }
  const rf = options.replicationFactor
  if (rf !== undefined && (!Number.isInteger(rf) || (rf < 1 && rf !== -1))) {
    throw new ConfigError(`kafka() replicationFactor must be an integer >= 1, or -1 for the broker's default, got ${String(rf)}.`)
  }
}

class KafkaBackend implements Backend {
  readonly name = 'kafka'
  readonly capabilities = CAPABILITIES
  private readonly clients = new Map<string, Kafka>()
  private readonly context: ErrorContext
  private adminClient: Promise<Admin> | undefined
  private readonly open = new Set<{ close(): Promise<void> }>()

  constructor(private readonly options: KafkaOptions) {
    checkOptions(options)
    registerCodecs()
    this.context = { brokers: [...options.brokers], secrets: secretsOf(options) }
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const admin = await this.admin()
    try {
      if (!(await admin.listTopics()).includes(name)) return undefined
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics
      const { resources } = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      })
      const policy = resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue
      return { name, partitions: metadata?.partitions.length ?? 0, cleanupPolicy: parseCleanupPolicy(policy) }
    } catch (error) {
      throw toKeyedError(error, `describe topic '${name}'`, this.context)
    }
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    const admin = await this.admin()
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: spec.name,
            numPartitions: spec.partitions,
            replicationFactor: this.options.replicationFactor ?? -1,
            configEntries: topicConfigEntries(spec),
          },
        ],
      })
    } catch (error) {
      const keyed = toKeyedError(error, `create topic '${spec.name}' (${spec.partitions} partitions)`, this.context)
      // A refused setting (INVALID_CONFIG, INVALID_REPLICATION_FACTOR…) is the caller's to fix, not an outage.
      const type = (error as { type?: string; errors?: Array<{ type?: string }> }).errors?.[0]?.type ?? (error as { type?: string }).type
      if (type?.startsWith('INVALID_') || type === 'POLICY_VIOLATION') throw new ConfigError(keyed.message)
      throw keyed
    }
  }

  producer(settings: ProducerSettings): BackendProducer {
    const producer = this.client(settings.clientId).producer({
      idempotent: settings.idempotent,
      // Every record arrives with the SDK's partition; this only silences kafkajs's partitioner notice.
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: settings.maxInFlight,
      allowAutoTopicCreation: false,
      retry: { ...this.retry(), retries: settings.retries },
    })
    return this.track(new KafkaProducer(producer, settings, this.context))
  }

  consumer(options: GroupMemberOptions): BackendConsumer {
    const heartbeatInterval = Math.min(options.heartbeatIntervalMs, Math.floor(options.sessionTimeoutMs / 3))
    const consumer = this.client(options.clientId).consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1, heartbeatInterval),
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 30_000,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 500,
      allowAutoTopicCreation: false,
      retry: this.retry(),
    })
    const tuning = { partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4, joinTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000 }
    return this.track(new KafkaConsumer(consumer, options, tuning, this.context))
  }

  async endOffsets(topic: string): Promise<PartitionEnd[]> {
    return endOffsets(await this.admin(), topic, this.context)
  }

  reader(options: PartitionReaderOptions): BackendReader {
    const settings = { admin: () => this.admin(), retry: this.retry(), maxWaitTimeMs: this.options.maxWaitTimeMs ?? 500, joinTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000 }
    return this.track(new KafkaReader(this.client(options.clientId), options, settings, this.context))
  }

  async close(): Promise<void> {
    await Promise.all([...this.open].map((c) => c.close().catch(() => undefined)))
    const admin = this.adminClient
    this.adminClient = undefined
    if (admin) await (await admin.catch(() => undefined))?.disconnect().catch(() => undefined)
  }

  private track<T extends { close(): Promise<void> }>(closable: T): T {
    this.open.add(closable)
    const close = closable.close.bind(closable)
    closable.close = async () => {
      this.open.delete(closable)
      await close()
    }
    return closable
  }

  private retry(): NonNullable<KafkaConfig['retry']> {
    const r = this.options.retry ?? {}
    // kafkajs's own default (5 tries, about 9 s) runs out during a leader election; about 24 s rides one out.
    return {
      retries: r.retries ?? 8,
      maxRetryTime: r.maxRetryTimeMs ?? 5000,
      ...(r.initialRetryTimeMs !== undefined && { initialRetryTime: r.initialRetryTimeMs }),
    }
  }

  private admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.client(undefined).admin({ retry: this.retry() })
      const connecting = admin.connect().then(
        () => admin,
        (error: unknown) => {
          this.adminClient = undefined
          throw toKeyedError(error, 'connect', this.context)
        },
      )
      this.adminClient = connecting
    }
    return this.adminClient
  }

  /** kafkajs keeps the client id per Kafka instance; one instance per id. */
  private client(clientId: string | undefined): Kafka {
    const id = clientId ?? this.options.clientId ?? 'keyed'
    let client = this.clients.get(id)
    if (!client) {
      const { options, context } = this
      client = new KafkaClient({
        clientId: id,
        brokers: [...options.brokers],
        // Node's TLS takes any Uint8Array where its types say Buffer, and readonly arrays are only read.
        ...(options.ssl !== undefined && { ssl: options.ssl as KafkaConfig['ssl'] }),
        ...(options.sasl !== undefined && { sasl: { ...options.sasl } }),
        connectionTimeout: options.connectionTimeoutMs ?? 3000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        retry: this.retry(),
        logLevel: LOG_LEVELS[options.logLevel ?? 'error'],
        logCreator: () => (entry: LogEntry) => {
          const { message, timestamp: _t, logger: _l, ...extra } = entry.log
          const detail = Object.keys(extra).length ? ` ${safeJson(extra)}` : ''
          process.stderr.write(redact(`[kafkajs${entry.namespace ? ' ' + entry.namespace : ''}] ${message}${detail}\n`, context.secrets))
        },
      })
      this.clients.set(id, client)
    }
    return client
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? v.message : v))
  } catch {
    return String(value)
  }
}

/** A keyed backend on Apache Kafka through kafkajs. */
export function kafka(options: KafkaOptions): Backend {
  return new KafkaBackend(options)
}

