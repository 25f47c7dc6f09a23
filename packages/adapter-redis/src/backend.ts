import type { Redis } from 'ioredis'
import type { Backend, BackendCapabilities, BackendConsumer, BackendProducer, GroupMemberOptions, ProducerSettings, TopicDescription, TopicSpec } from '@keyed/sdk/backend'
import type { BackendReader, PartitionEnd, PartitionReaderOptions } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import { ClosedError, TopicNotFoundError } from '@keyed/sdk'
import { Cleaner } from './cleaner.js'
import { connectOrFail, createConnection, Script } from './connection.js'
import { RedisGroupMember } from './consumer.js'
import { Keys } from './keys.js'
import type { ResolvedOptions } from './options.js'
import { RedisProducer } from './producer.js'
import { endOffsets, RedisReader } from './reader.js'
import { translated } from './errors.js'
import { within } from './within.js'
import { CREATE_TOPIC } from './scripts.js'
import { metaFields, parseMeta, type TopicMeta } from './topics.js'

const createTopic = new Script(CREATE_TOPIC)

export class RedisBackend implements Backend {
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities = { compaction: true, timeRetention: true }
  readonly keys: Keys
  private conn: Redis | undefined
  private connecting: Promise<Redis> | undefined
  private readonly metas = new Map<string, TopicMeta>()
  private readonly members = new Set<RedisGroupMember>()
  private readonly readers = new Set<RedisReader>()
  private readonly cleaner: Cleaner
  private closed = false
  private closing: Promise<void> | undefined
  /** Every connection this backend opened, so close() can drop them when the server is gone. */
  private readonly open = new Set<Redis>()

  constructor(readonly options: ResolvedOptions) {
    this.keys = new Keys(options.keyPrefix)
    this.cleaner = new Cleaner(this, options.cleanerIntervalMs)
  }

  /** The shared command connection, connected within connectTimeoutMs or BackendUnavailableError. */
  connection(): Promise<Redis> {
    if (this.closed) return Promise.reject(new ClosedError('redis backend'))
    this.connecting ??= (async () => {
      const conn = this.track(createConnection(this.options, 'keyed'))
      conn.on('error', () => undefined) // reconnects are handled by ioredis; a down server shows as waiting commands
      await connectOrFail(conn, this.options)
      this.conn = conn
      return conn
    })()
    const pending = this.connecting
    pending.catch(() => {
      if (this.connecting === pending) this.connecting = undefined
    })
    return pending
  }

  /** A dedicated connection (blocking reads need their own), connected or BackendUnavailableError. */
  async dedicated(name: string): Promise<Redis> {
    const conn = this.track(createConnection(this.options, name))
    conn.on('error', () => undefined)
    await connectOrFail(conn, this.options)
    return conn
  }

  private track(conn: Redis): Redis {
    this.open.add(conn)
    conn.once('end', () => this.open.delete(conn))
    return conn
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const meta = await this.loadMeta(name)
    return meta && { name: meta.name, partitions: meta.partitions, cleanupPolicy: meta.cleanupPolicy }
  }

  async createTopic(spec: TopicSpec): Promise<void> {
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) throw new ConfigError(`Topic '${spec.name}' needs at least one partition.`)
    const conn = await this.connection()
    await translated(`create topic '${spec.name}'`, this.options.server, () => createTopic.run(conn, [this.keys.topic(spec.name)], metaFields(spec)))
    await this.loadMeta(spec.name)
  }

  /** Metadata of an existing topic (cached: a topic's settings never change once created). */
  async topicMeta(name: string): Promise<TopicMeta> {
    const meta = this.metas.get(name) ?? (await this.loadMeta(name))
    if (!meta) throw new TopicNotFoundError(name)
    return meta
  }

  private async loadMeta(name: string): Promise<TopicMeta | undefined> {
    const cached = this.metas.get(name)
    if (cached) return cached
    const conn = await this.connection()
    const hash = await translated(`read topic '${name}'`, this.options.server, () => conn.hgetall(this.keys.topic(name)))
    const meta = parseMeta(name, hash)
    if (meta) {
      this.metas.set(name, meta)
      this.cleaner.watch(meta)
    }
    return meta
  }

  producer(_settings: ProducerSettings): BackendProducer {
    return new RedisProducer(this)
  }

  consumer(options: GroupMemberOptions): BackendConsumer {
    const member = new RedisGroupMember(this, options)
    this.members.add(member)
    return member
  }

  endOffsets(topic: string): Promise<PartitionEnd[]> {
    return endOffsets(this, topic)
  }

  reader(options: PartitionReaderOptions): BackendReader {
    return new RedisReader(this, options, this.readers)
  }

  forget(member: RedisGroupMember): void {
    this.members.delete(member)
  }

  /** Finishes gracefully (batches in flight, commits, QUIT) within sendTimeoutMs; then, the server being gone, drops every connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    const graceful = (async () => {
      await Promise.all([...this.members].map((m) => m.close()))
      await Promise.all([...this.readers].map((r) => r.close()))
      await this.cleaner.stop()
      this.closed = true
      const conn = this.conn
      this.conn = undefined
      if (conn) await conn.quit().catch(() => conn.disconnect())
    })()
    if (await within(graceful, this.options.sendTimeoutMs)) return
    this.closed = true
    // ioredis may never settle commands queued for a reconnect that will not come, so the graceful part is abandoned.
    for (const conn of this.open) conn.disconnect()
  }
}
