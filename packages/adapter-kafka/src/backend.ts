import { whileSettling } from './settling.js'
import kafkajs, {
  type Admin,
  type ITopicConfig,
  type Kafka,
  type KafkaConfig,
  type LogEntry,
  type logLevel as KafkaJsLogLevel,
} from 'kafkajs'
import type {
  Backend,
  BackendCapabilities,
  BackendConsumer,
  BackendProducer,
  GroupMemberOptions,
  GroupPartitionOffset,
  PartitionEnd,
  PartitionReaderOptions,
  BackendReader,
  ProducerSettings,
  ResetPosition,
  ClampedOffset,
  OffsetRange,
  TopicDescription,
  TopicSpec,
} from '@keyed/sdk/backend'
import { BackendRefusedError, ConfigError, decimalOffsets, defaultLogger, type Logger } from '@keyed/sdk/backend'
import { DEFAULT_CLOSE_TIMEOUT_MS, LEAVE_TIMEOUT_MS, within } from './bounded.js'
import { OpenSet } from './open-set.js'
import { registerCodecs } from './codecs.js'
import { KafkaConsumer } from './consumer.js'
import { endOffsets, KafkaReader } from './reader.js'
import { committedOffsets, topicSpec } from './offsets.js'
import { offsetsForTimes, resetOffsets } from './reset.js'
import { root, toKeyedError, type ErrorContext } from './errors.js'
import { redact, secretsOf, type KafkaLogLevel, type KafkaOptions } from './options.js'
import { MessageLimits } from './limits.js'
import { KafkaProducer } from './producer.js'
import { SoleBroker } from './sole-broker.js'
import { PlatformaticBackend } from './platformatic/backend.js'
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
  if (
    !options ||
    !Array.isArray(options.brokers) ||
    options.brokers.length === 0 ||
    !options.brokers.every((b) => typeof b === 'string' && b.length > 0)
  ) {
    throw new ConfigError(
      "kafka() needs brokers: a list of 'host:port' bootstrap servers, e.g. kafka({ brokers: ['127.0.0.1:9092'] }).",
    )
  }
  const credentialed = options.brokers.find((b) => b.includes('@') || b.includes('://'))
  if (credentialed !== undefined) {
    throw new ConfigError(
      `kafka() brokers are 'host:port' only, got '${redact(credentialed, secretsOf(options))}'. Give credentials as sasl: { mechanism, username, password } and TLS as ssl.`,
    )
  }
  const close = options.closeTimeoutMs
  if (close !== undefined && (!Number.isInteger(close) || close < 0)) {
    throw new ConfigError(`kafka() closeTimeoutMs must be an integer >= 0, got ${String(close)}.`)
  }
  if (options.logLevel !== undefined && !(options.logLevel in LOG_LEVELS)) {
    throw new ConfigError(
      `kafka() logLevel must be one of ${Object.keys(LOG_LEVELS).join(', ')}, got '${String(options.logLevel)}'.`,
    )
  }
  if (options.client !== undefined && options.client !== 'kafkajs' && options.client !== 'platformatic') {
    throw new ConfigError(`kafka() client must be 'kafkajs' or 'platformatic', got '${String(options.client)}'.`)
  }
  if (options.rebalance !== undefined && options.rebalance !== 'cooperative' && options.rebalance !== 'eager') {
    throw new ConfigError(`kafka() rebalance must be 'cooperative' or 'eager', got '${String(options.rebalance)}'.`)
  }
  if (options.rebalance === 'cooperative' && options.client !== 'platformatic') {
    throw new ConfigError(
      "kafka() rebalance: 'cooperative' needs client: 'platformatic'; kafkajs only rebalances eagerly (drop the option, or choose the platformatic client).",
    )
  }
  const rf = options.replicationFactor
  if (rf !== undefined && (!Number.isInteger(rf) || (rf < 1 && rf !== -1))) {
    throw new ConfigError(
      `kafka() replicationFactor must be an integer >= 1, or -1 for the broker's default, got ${String(rf)}.`,
    )
  }
}

class KafkaBackend implements Backend {
  readonly name = 'kafka'
  readonly capabilities = CAPABILITIES
  readonly offsetFormat = decimalOffsets
  private readonly clients = new Map<string, Kafka>()
  private readonly context: ErrorContext
  private adminClient: Promise<Admin> | undefined
  private readonly open = new OpenSet()
  private logger: Logger = defaultLogger
  /** Whether the cluster has only had one broker: idempotent producers then send a call's partitions together. */
  private readonly soleBroker = new SoleBroker(async () =>
    (await (await this.admin()).describeCluster()).brokers.map((b) => b.nodeId),
  )
  private readonly limits = new MessageLimits((topic, names) =>
    this.admin().then((admin) => this.topicConfigs(admin, topic, names)),
  )

  constructor(private readonly options: KafkaOptions) {
    checkOptions(options)
    registerCodecs()
    this.context = {
      brokers: [...options.brokers],
      secrets: secretsOf(options),
      tls: options.ssl !== undefined && options.ssl !== false,
    }
  }

  setLogger(logger: Logger): void {
    this.logger = logger
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const admin = await this.admin()
    try {
      if (!(await admin.listTopics()).includes(name)) return undefined
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics
      const config = await this.topicConfigs(admin, name, ['cleanup.policy', 'max.message.bytes'])
      this.limits.remember(name, config['max.message.bytes'])
      return {
        name,
        partitions: metadata?.partitions.length ?? 0,
        cleanupPolicy: parseCleanupPolicy(config['cleanup.policy']),
      }
    } catch (error) {
      throw toKeyedError(error, `describe topic '${name}'`, this.context)
    }
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    const admin = await this.admin()
    const action = `create topic '${spec.name}' (${spec.partitions} partitions)`
    try {
      await whileSettling(
        () => admin.createTopics({ waitForLeaders: true, topics: [this.topicConfig(spec, topicConfigEntries(spec))] }),
        (error) => root(error).type,
      )
    } catch (error) {
      const refused = root(error).type === 'INVALID_CONFIG' ? await this.refusedSetting(admin, spec) : undefined
      if (refused) {
        throw new BackendRefusedError(
          'kafka',
          `could not ${action}: the broker does not accept the topic setting ${refused.name}=${refused.value}. Fix or drop it in the topic's declaration.`,
          { setting: refused.name },
        )
      }
      throw toKeyedError(error, action, this.context)
    }
  }

  /** kafkajs drops the broker's explanation of INVALID_CONFIG: each setting alone, validated without creating, finds the one refused. */
  private async refusedSetting(admin: Admin, spec: TopicSpec): Promise<{ name: string; value: string } | undefined> {
    for (const entry of topicConfigEntries(spec)) {
      try {
        await admin.createTopics({ validateOnly: true, topics: [this.topicConfig(spec, [entry])] })
      } catch (error) {
        if (root(error).type === 'INVALID_CONFIG') return entry
      }
    }
    return undefined
  }

  private topicConfig(spec: TopicSpec, configEntries: Array<{ name: string; value: string }>): ITopicConfig {
    return {
      topic: spec.name,
      numPartitions: spec.partitions,
      replicationFactor: this.options.replicationFactor ?? -1,
      configEntries,
    }
  }

  private async topicConfigs(
    admin: Admin,
    name: string,
    configNames: string[],
  ): Promise<Record<string, string | undefined>> {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames }],
      includeSynonyms: false,
    })
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]))
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
    const limit = (topic: string, refresh: boolean) => this.limits.get(topic, refresh)
    return this.open.track(
      new KafkaProducer(
        producer,
        settings,
        this.context,
        limit,
        this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        this.soleBroker,
      ),
    )
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
      // kafkajs restarts a crashed member after errors that pass (a broker restarting); after any other (a batch it
      // cannot decode) restarting would only fail again, so the member stops and the SDK reports it.
      retry: { ...this.retry(), restartOnFailure: (error: unknown) => Promise.resolve(root(error).retriable === true) },
    })
    const tuning = {
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      joinTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
      heartbeatIntervalMs: Math.max(1, heartbeatInterval),
      closeTimeoutMs: this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    }
    return this.open.track(
      new KafkaConsumer(
        consumer,
        options,
        tuning,
        this.context,
        async (groupId, topics) => committedOffsets(await this.admin(), groupId, topics, this.context),
        this.logger,
      ),
    )
  }

  async endOffsets(topic: string): Promise<PartitionEnd[]> {
    return endOffsets(await this.admin(), topic, this.context)
  }

  /** The partition's low and high watermarks. */
  async offsetRange(topic: string, partition: number): Promise<OffsetRange> {
    try {
      const found = (await (await this.admin()).fetchTopicOffsets(topic)).find((o) => o.partition === partition)
      if (!found) throw new Error(`${topic} has no partition ${partition}`)
      return { low: found.low, high: found.high }
    } catch (error) {
      throw toKeyedError(error, `look up the offsets of ${topic}[${partition}]`, this.context)
    }
  }

  reader(options: PartitionReaderOptions): BackendReader {
    const settings = {
      admin: () => this.admin(),
      retry: this.retry(),
      maxWaitTimeMs: this.options.maxWaitTimeMs ?? 500,
      joinTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
    }
    return this.open.track(new KafkaReader(this.client(options.clientId), options, settings, this.context))
  }

  async committedOffsets(groupId: string, topics?: readonly string[]): Promise<GroupPartitionOffset[]> {
    return committedOffsets(await this.admin(), groupId, topics, this.context)
  }

  async resetOffsets(
    groupId: string,
    topic: string,
    positions: readonly ResetPosition[],
  ): Promise<readonly ClampedOffset[]> {
    return resetOffsets(await this.admin(), groupId, topic, positions, this.context)
  }

  async offsetsForTimes(
    topic: string,
    timestamp: number,
  ): Promise<Array<{ partition: number; offset: string | undefined }>> {
    return offsetsForTimes(await this.admin(), topic, timestamp, this.context)
  }

  async topicSpec(name: string): Promise<TopicSpec | undefined> {
    return topicSpec(await this.admin(), name, this.context)
  }

  async close(): Promise<void> {
    await this.open.closeAll()
    const admin = this.adminClient
    this.adminClient = undefined
    // Bounded like every other leave: a broker that does not answer must not hold the client's close.
    if (admin)
      await within(
        (await admin.catch(() => undefined))?.disconnect().catch(() => undefined) ?? Promise.resolve(),
        LEAVE_TIMEOUT_MS,
      )
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

  /**
   * kafkajs's messages at logLevel and above, with every secret redacted: to the client's logger, or (no logger given)
   * to stderr as before loggers existed, so logLevel: 'info' still shows info lines.
   */
  private log(entry: LogEntry, secrets: readonly string[]): void {
    const { message, timestamp: _t, logger: _l, ...all } = entry.log
    const namespace = entry.namespace ? ` ${entry.namespace}` : ''
    // A consumer "crash" on a coordinator still settling is retried by kafkajs at once: a warning, without the stack.
    const transient = entry.level === logLevel.ERROR && TRANSIENT_CRASH.test(message)
    const { stack: _s, ...short } = all as { stack?: unknown }
    const extra = transient ? short : all
    if (transient && this.logger === defaultLogger) return
    if (this.logger === defaultLogger) {
      const detail = Object.keys(extra).length ? ` ${safeJson(extra)}` : ''
      process.stderr.write(redact(`[kafkajs${namespace}] ${message}${detail}\n`, secrets))
      return
    }
    const level = transient ? 'warn' : (LOGGER_LEVELS.get(entry.level) ?? 'debug')
    let details: object = { namespace: entry.namespace }
    try {
      details = JSON.parse(redact(safeJson({ ...extra, namespace: entry.namespace }), secrets)) as object
    } catch {
      // Details that are not JSON are left out rather than risk a secret.
    }
    this.logger[level](details, redact(`kafkajs${namespace}: ${message}`, secrets))
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
        logCreator: () => (entry: LogEntry) => this.log(entry, context.secrets),
      })
      this.clients.set(id, client)
    }
    return client
  }
}

/** kafkajs's consumer crash log for a group coordinator that is loading or moving, which it retries by itself. */
const TRANSIENT_CRASH =
  /^Crash: KafkaJSProtocolError: (The coordinator is loading|The coordinator is not available|This is not the correct coordinator)/

const LOGGER_LEVELS = new Map<number, keyof Logger>([
  [logLevel.ERROR, 'error'],
  [logLevel.WARN, 'warn'],
  [logLevel.INFO, 'info'],
  [logLevel.DEBUG, 'debug'],
])

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? v.message : v))
  } catch {
    return String(value)
  }
}

/** A keyed backend on Apache Kafka, through kafkajs (the default) or @platformatic/kafka (`client: 'platformatic'`). */
export function kafka(options: KafkaOptions): Backend {
  checkOptions(options)
  return options.client === 'platformatic' ? new PlatformaticBackend(options) : new KafkaBackend(options)
}
