import type {
  Backend,
  BackendCapabilities,
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
  Logger,
} from '@keyed/sdk/backend'
import { ConfigError, streamIdOffsets, TopicNotFoundError } from '@keyed/sdk/backend'
import { Cleaner } from './cleaner.js'
import { Connections } from './connection.js'
import type { RedisContext } from './context.js'
import { translated } from './errors.js'
import { RedisGroupMember } from './group/member.js'
import { Keys } from './keys.js'
import type { ResolvedOptions } from './options.js'
import { RedisProducer } from './producer.js'
import { endOffsets, RedisReader } from './reader.js'
import { committedOffsets, specOf } from './offsets.js'
import { offsetRange, offsetsForTimes, resetOffsets } from './reset.js'
import { createTopic } from './scripts.js'
import { metaFields, parseMeta, type TopicMeta } from './topics.js'
import { within } from './within.js'

interface Closeable {
  close(): Promise<void>
}

/** Owns the connections, the topic metadata cache and the cleaner; hands its parts a RedisContext. */
export class RedisBackend implements Backend {
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities = { compaction: true, timeRetention: true }
  readonly offsetFormat = streamIdOffsets
  private readonly keys: Keys
  private readonly connections: Connections
  private readonly context: RedisContext
  private readonly metas = new Map<string, TopicMeta>()
  /** Group members and table readers, closed before the connections. */
  private readonly users = new Set<Closeable>()
  private readonly cleaner: Cleaner
  private closing: Promise<void> | undefined

  constructor(private readonly options: ResolvedOptions) {
    this.keys = new Keys(options.keyPrefix)
    const connections = (this.connections = new Connections(options))
    this.context = {
      options,
      keys: this.keys,
      connection: () => this.connections.connection(),
      refusal: (conn) => this.connections.refusal(conn),
      guard: (conn, work) => this.connections.guard(conn, work),
      dedicated: (name) => this.connections.dedicated(name),
      topicMeta: (topic) => this.topicMeta(topic),
      get logger() {
        return connections.logger
      },
    }
    this.cleaner = new Cleaner(this.context, options.cleanerIntervalMs)
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const meta = await this.loadMeta(name)
    return meta && { name: meta.name, partitions: meta.partitions, cleanupPolicy: meta.cleanupPolicy }
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1)
      throw new ConfigError(`Topic '${spec.name}' needs at least one partition.`)
    const conn = await this.connections.connection()
    await translated(`create topic '${spec.name}'`, this.options.server, () =>
      createTopic.run(conn, [this.keys.topic(spec.name)], metaFields(spec)),
    )
    await this.loadMeta(spec.name)
  }

  /** Metadata of an existing topic (cached: a topic's settings never change once created). */
  private async topicMeta(name: string): Promise<TopicMeta> {
    const meta = this.metas.get(name) ?? (await this.loadMeta(name))
    if (!meta) throw new TopicNotFoundError(name)
    return meta
  }

  private async loadMeta(name: string): Promise<TopicMeta | undefined> {
    const cached = this.metas.get(name)
    if (cached) return cached
    const conn = await this.connections.connection()
    const hash = await translated(`read topic '${name}'`, this.options.server, () =>
      conn.hgetall(this.keys.topic(name)),
    )
    const meta = parseMeta(name, hash)
    if (meta) {
      this.metas.set(name, meta)
      this.cleaner.watch(meta)
    }
    return meta
  }

  setLogger(logger: Logger): void {
    this.connections.logger = logger
  }

  producer(settings: ProducerSettings): BackendProducer {
    return new RedisProducer(this.context, settings)
  }

  consumer(options: GroupMemberOptions): BackendConsumer {
    const member: RedisGroupMember = new RedisGroupMember(this.context, options, () => this.users.delete(member))
    this.users.add(member)
    return member
  }

  endOffsets(topic: string): Promise<PartitionEnd[]> {
    return endOffsets(this.context, topic)
  }

  reader(options: PartitionReaderOptions): BackendReader {
    return new RedisReader(this.context, options, this.users)
  }

  committedOffsets(groupId: string, topics?: readonly string[]): Promise<GroupPartitionOffset[]> {
    return committedOffsets(this.context, groupId, topics)
  }

  resetOffsets(groupId: string, topic: string, positions: readonly ResetPosition[]): Promise<readonly ClampedOffset[]> {
    return resetOffsets(this.context, groupId, topic, positions)
  }

  offsetRange(topic: string, partition: number): Promise<OffsetRange> {
    return offsetRange(this.context, topic, partition)
  }

  offsetsForTimes(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: string | undefined }>> {
    return offsetsForTimes(this.context, topic, timestamp)
  }

  async topicSpec(name: string): Promise<TopicSpec | undefined> {
    const meta = await this.loadMeta(name)
    return meta && specOf(meta)
  }

  /** Finishes gracefully (batches in flight, commits, QUIT) within sendTimeoutMs; then, the server being gone, drops every connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    const graceful = (async () => {
      await Promise.all([...this.users].map((u) => u.close()))
      await this.cleaner.stop()
      await this.connections.quit()
    })()
    if (!(await within(graceful, this.options.sendTimeoutMs))) this.connections.drop()
  }
}
