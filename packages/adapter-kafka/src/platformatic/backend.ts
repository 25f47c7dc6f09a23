import { whileSettling } from '../settling.js'
import type {
  Backend,
  BackendConsumer,
  BackendProducer,
  BackendReader,
  GroupMemberOptions,
  GroupPartitionOffset,
  PartitionEnd,
  PartitionReaderOptions,
  ProducerSettings,
  ResetPosition,
  ClampedOffset,
  OffsetRange,
  TopicDescription,
  TopicSpec,
} from '@keyed/sdk/backend'
import {
  BackendRefusedError,
  checkDecimalOffsets,
  clampDecimalOffsets,
  decimalOffsets,
  GroupInUseError,
  isKeyedError,
} from '@keyed/sdk/backend'
import type { Admin, BaseOptions } from '@platformatic/kafka'
import { DEFAULT_CLOSE_TIMEOUT_MS, LEAVE_TIMEOUT_MS, within } from '../bounded.js'
import { OpenSet } from '../open-set.js'
import { toKeyedError, type ErrorContext } from '../errors.js'
import { MessageLimits } from '../limits.js'
import { secretsOf, type KafkaOptions } from '../options.js'
import { parseCleanupPolicy, TOPIC_FIELDS, topicConfigEntries } from '../topics.js'
import { PlatformaticConsumer } from './consumer.js'
import { platformaticChain } from './errors.js'
import { platformatic } from './lib.js'
import { checkNode } from './node.js'
import { PlatformaticProducer } from './producer.js'
import { PlatformaticReader } from './reader.js'

const TOPIC = 2 // ConfigResourceTypes.TOPIC
const TOPIC_CONFIG = 1 // ConfigSources.TOPIC_CONFIG: set on the topic itself
const LATEST = -1n
const EARLIEST = -2n

/** A keyed backend on Apache Kafka through @platformatic/kafka (kafka({ client: 'platformatic' })). */
export class PlatformaticBackend implements Backend {
  readonly name = 'kafka'
  readonly capabilities = { compaction: true, timeRetention: true }
  readonly offsetFormat = decimalOffsets
  private readonly context: ErrorContext
  private adminClient: Promise<Admin> | undefined
  private readonly open = new OpenSet()
  private readonly limits = new MessageLimits((topic, names) => this.admin().then((a) => this.configs(a, topic, names)))

  constructor(private readonly options: KafkaOptions) {
    checkNode()
    this.context = {
      brokers: [...options.brokers],
      secrets: secretsOf(options),
      tls: options.ssl !== undefined && options.ssl !== false,
    }
  }

  private error(error: unknown, action: string) {
    return toKeyedError(error, action, this.context, platformaticChain)
  }

  /** The connection settings every client of this backend shares. */
  private base(clientId: string | undefined): BaseOptions {
    const o = this.options
    const r = o.retry ?? {}
    const initial = r.initialRetryTimeMs ?? 300
    const max = r.maxRetryTimeMs ?? 5000
    return {
      clientId: clientId ?? o.clientId ?? 'keyed',
      bootstrapBrokers: [...o.brokers],
      ...(o.ssl !== undefined && o.ssl !== false && { tls: (o.ssl === true ? {} : o.ssl) as BaseOptions['tls'] }),
      ...(o.sasl !== undefined && {
        sasl: {
          mechanism: o.sasl.mechanism.toUpperCase() as 'PLAIN',
          username: o.sasl.username,
          password: o.sasl.password,
        },
      }),
      connectTimeout: o.connectionTimeoutMs ?? 3000,
      requestTimeout: o.requestTimeoutMs ?? 30_000,
      // As the kafkajs transport: about 24 s of retries rides out a leader election.
      retries: r.retries ?? 8,
      retryDelay: (_client, _op, attempt) => Math.min(max, initial * 2 ** Math.max(0, attempt - 1)),
    }
  }

  private admin(): Promise<Admin> {
    this.adminClient ??= platformatic().then((lib) => new lib.Admin(this.base(undefined)))
    return this.adminClient
  }

  private async configs(
    admin: Admin,
    topic: string,
    names: string[] | null,
  ): Promise<Record<string, string | undefined>> {
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: names }],
      includeSynonyms: false,
    })
    return Object.fromEntries((described?.configs ?? []).map((c) => [c.name, c.value ?? undefined]))
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const admin = await this.admin()
    try {
      if (!(await admin.listTopics()).includes(name)) return undefined
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true })
      const config = await this.configs(admin, name, ['cleanup.policy', 'max.message.bytes'])
      this.limits.remember(name, config['max.message.bytes'])
      return {
        name,
        partitions: metadata.topics.get(name)?.partitionsCount ?? 0,
        cleanupPolicy: parseCleanupPolicy(config['cleanup.policy']),
      }
    } catch (error) {
      throw this.error(error, `describe topic '${name}'`)
    }
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    const admin = await this.admin()
    const action = `create topic '${spec.name}' (${spec.partitions} partitions)`
    const entries = topicConfigEntries(spec)
    try {
      await whileSettling(
        () =>
          admin.createTopics({
            topics: [spec.name],
            partitions: spec.partitions,
            replicas: this.options.replicationFactor ?? -1,
            configs: entries,
          }),
        (error) => platformaticChain(error).at(-1)?.type,
      )
    } catch (error) {
      const inner = platformaticChain(error).at(-1)
      if (inner?.type === 'TOPIC_ALREADY_EXISTS') return
      if (inner?.type === 'INVALID_CONFIG') {
        // Unlike kafkajs, the client keeps the broker's explanation, which names the setting.
        const refused = entries.find((e) => inner.message?.includes(e.name))
        if (refused)
          throw new BackendRefusedError(
            'kafka',
            `could not ${action}: the broker does not accept the topic setting ${refused.name}=${refused.value}. Fix or drop it in the topic's declaration.`,
            { setting: refused.name },
          )
      }
      throw this.error(error, action)
    }
    await this.waitForLeaders(admin, spec.name)
  }

  /** As kafkajs's waitForLeaders: a topic is usable once each partition has a leader (bounded; sends retry after). */
  private async waitForLeaders(admin: Admin, topic: string): Promise<void> {
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined)
      const partitions = metadata?.topics.get(topic)?.partitions ?? []
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  producer(settings: ProducerSettings): BackendProducer {
    return this.open.track(
      new PlatformaticProducer(
        this.base(settings.clientId),
        settings,
        this.context,
        (topic, refresh) => this.limits.get(topic, refresh),
        this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
      ),
    )
  }

  consumer(options: GroupMemberOptions): BackendConsumer {
    return this.open.track(
      new PlatformaticConsumer(
        options,
        {
          base: this.base(options.clientId),
          joinTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
          rebalanceTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
          rebalance: this.options.rebalance ?? 'cooperative',
          maxWaitTimeMs: this.options.maxWaitTimeMs ?? 500,
          closeTimeoutMs: this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        },
        this.context,
      ),
    )
  }

  reader(options: PartitionReaderOptions): BackendReader {
    return this.open.track(
      new PlatformaticReader(options, this.base(options.clientId), this.options.maxWaitTimeMs ?? 500, this.context),
    )
  }

  private async offsets(admin: Admin, topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const metadata = await admin.metadata({ topics: [topic] })
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    const [listed] = await admin.listOffsets({
      // Read committed: the end a reader of committed records can reach (the last stable offset).
      isolationLevel: 1,
      topics: [
        { name: topic, partitions: Array.from({ length: count }, (_, p) => ({ partitionIndex: p, timestamp })) },
      ],
    })
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]))
  }

  async endOffsets(topic: string): Promise<PartitionEnd[]> {
    try {
      const ends = await this.offsets(await this.admin(), topic, LATEST)
      return [...ends]
        .sort(([a], [b]) => a - b)
        .map(([partition, offset]) => ({ partition, offset: offset.toString() }))
    } catch (error) {
      throw this.error(error, `fetch the end offsets of '${topic}'`)
    }
  }

  /** The partition's oldest surviving offset and its end, as resetOffsets() clamps to. */
  async offsetRange(topic: string, partition: number): Promise<OffsetRange> {
    try {
      const admin = await this.admin()
      const [lows, highs] = await Promise.all([
        this.offsets(admin, topic, EARLIEST),
        this.offsets(admin, topic, LATEST),
      ])
      const high = highs.get(partition)
      if (high === undefined) throw new Error(`${topic} has no partition ${partition}`)
      return { low: String(lows.get(partition) ?? 0n), high: String(high) }
    } catch (error) {
      throw this.error(error, `look up the offsets of ${topic}[${partition}]`)
    }
  }

  async committedOffsets(groupId: string, topics?: readonly string[]): Promise<GroupPartitionOffset[]> {
    try {
      const admin = await this.admin()
      const [group] = await admin.listConsumerGroupOffsets({
        groups: [
          topics
            ? {
                groupId,
                topics: await Promise.all(
                  topics.map(async (name) => ({
                    name,
                    partitionIndexes: [...(await this.offsets(admin, name, LATEST)).keys()],
                  })),
                ),
              }
            : groupId,
        ],
      })
      const out: GroupPartitionOffset[] = []
      for (const t of group?.topics ?? []) {
        const [ends, lows] = await Promise.all([
          this.offsets(admin, t.name, LATEST),
          this.offsets(admin, t.name, EARLIEST),
        ])
        for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
          const end = ends.get(p.partitionIndex) ?? 0n
          const committed = p.committedOffset >= 0n ? p.committedOffset : undefined
          const from = committed ?? lows.get(p.partitionIndex) ?? 0n
          out.push({
            topic: t.name,
            partition: p.partitionIndex,
            committed: committed?.toString(),
            end: end.toString(),
            lag: Math.max(0, Number(end - from)),
          })
        }
      }
      return out
    } catch (error) {
      throw this.error(error, `fetch the committed offsets of group '${groupId}'`)
    }
  }

  /** An admin commit of the group's positions (as kafka-consumer-groups --reset-offsets does), refused while it has members. */
  async resetOffsets(
    groupId: string,
    topic: string,
    positions: readonly ResetPosition[],
  ): Promise<readonly ClampedOffset[]> {
    checkDecimalOffsets('kafka', topic, positions)
    try {
      const admin = await this.admin()
      const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
      if (group && group.members.size > 0) throw new GroupInUseError(groupId, 'kafka', group.members.size)
      const [lows, highs] = await Promise.all([
        this.offsets(admin, topic, EARLIEST),
        this.offsets(admin, topic, LATEST),
      ])
      const edges = new Map(
        [...highs].map(([partition, high]) => [
          partition,
          { low: String(lows.get(partition) ?? 0n), high: String(high) },
        ]),
      )
      const { offsets, clamped } = clampDecimalOffsets(positions, edges)
      const partitionOffsets = offsets.map(({ partition, offset }) => ({ partition, offset: BigInt(offset) }))
      await admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets }] })
      return clamped
    } catch (error) {
      if (isKeyedError(error)) throw error
      throw this.error(error, `reset the offsets of group '${groupId}' in '${topic}'`)
    }
  }

  /** ListOffsets by timestamp; Kafka answers -1 for a partition with no record at or after the time. */
  async offsetsForTimes(
    topic: string,
    timestamp: number,
  ): Promise<Array<{ partition: number; offset: string | undefined }>> {
    try {
      const found = await this.offsets(await this.admin(), topic, BigInt(Math.floor(timestamp)))
      return [...found]
        .sort(([a], [b]) => a - b)
        .map(([partition, offset]) => ({ partition, offset: offset >= 0n ? offset.toString() : undefined }))
    } catch (error) {
      throw this.error(error, `look up the offsets of '${topic}' at ${new Date(timestamp).toISOString()}`)
    }
  }

  async topicSpec(name: string): Promise<TopicSpec | undefined> {
    try {
      const admin = await this.admin()
      if (!(await admin.listTopics()).includes(name)) return undefined
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true })
      const [described] = await admin.describeConfigs({
        resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: null }],
        includeSynonyms: false,
      })
      const spec: { -readonly [F in keyof TopicSpec]: TopicSpec[F] } = {
        name,
        partitions: metadata.topics.get(name)?.partitionsCount ?? 0,
        cleanupPolicy: 'delete',
        retentionMs: undefined,
        retentionBytes: undefined,
        deleteRetentionMs: undefined,
        minCompactionLagMs: undefined,
        config: {},
      }
      const config: Record<string, string> = {}
      for (const c of described?.configs ?? []) {
        if (c.name === 'cleanup.policy') spec.cleanupPolicy = parseCleanupPolicy(c.value ?? undefined)
        if (c.configSource !== TOPIC_CONFIG || c.name === 'cleanup.policy' || c.value === null || c.value === undefined)
          continue
        const field = TOPIC_FIELDS[c.name]
        if (field) spec[field] = Number(c.value)
        else config[c.name] = c.value
      }
      return { ...spec, config }
    } catch (error) {
      throw this.error(error, `describe topic '${name}'`)
    }
  }

  async close(): Promise<void> {
    await this.open.closeAll()
    const admin = this.adminClient
    this.adminClient = undefined
    if (admin)
      await within(
        (await admin.catch(() => undefined))?.close().catch(() => undefined) ?? Promise.resolve(),
        LEAVE_TIMEOUT_MS,
      )
  }
}
