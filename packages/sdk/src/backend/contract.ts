import type { KeyedError, SchemaField } from '../errors.js'
import type { Logger } from '../logger.js'
import type { CleanupPolicy } from '../topic.js'

/**
 * The contract a transport implements. The SDK owns validation, serialization, partitioning,
 * ordering checks, retries, commits-after-success and the dead-letter path; a backend moves bytes
 * to an explicit partition, keeps partitioned logs and runs consumer groups.
 */
export interface Backend {
  /** Short name used in errors ('memory', 'kafka', 'redis'). */
  readonly name: string
  readonly capabilities: BackendCapabilities
  /** The topic as the backend has it, or undefined when it does not exist. */
  describeTopic(name: string): Promise<TopicDescription | undefined>
  /** Creates a topic; creating one that exists with the same partitions is not an error. */
  createTopic(spec: TopicSpec): Promise<void>
  producer(settings: ProducerSettings): BackendProducer
  consumer(options: GroupMemberOptions): BackendConsumer
  /**
   * Where each partition of the topic ends now, as this backend's reader understands it (tables capture these at
   * start). Optional: a backend without it and reader() cannot serve client.table().
   */
  endOffsets?(topic: string): Promise<PartitionEnd[]>
  /** Reads partitions from the beginning without a consumer group (nothing is committed), then follows new records. */
  reader?(options: PartitionReaderOptions): BackendReader
  /**
   * Where a consumer group stands in each partition of the topics (or, without topics, of every topic it committed
   * in): its committed position, the partition's end and the records between. Optional; tools (keyed lag) need it.
   */
  committedOffsets?(groupId: string, topics?: readonly string[]): Promise<GroupPartitionOffset[]>
  /**
   * Moves a consumer group's positions in these partitions of the topic: it next reads from the given offset, or from
   * the oldest surviving record ('earliest') or only records written after ('latest'). Rejects with a
   * GroupInUseError, changing nothing, while the group has live members. An offset outside [earliest, end] of its
   * partition is clamped to the nearer edge, as kafka-consumer-groups does; resolves with what was clamped (the SDK
   * logs it). A malformed offset is a ConfigError before anything touches the group. Optional: admin().resetOffsets()
   * needs it.
   */
  resetOffsets?(
    groupId: string,
    topic: string,
    positions: readonly ResetPosition[],
  ): Promise<readonly ClampedOffset[] | void>
  /**
   * Per partition of the topic, the offset of the first record whose timestamp is at or after the time (Redis: the
   * first entry whose id's time is), or undefined when there is none. Optional: resetOffsets to a timestamp needs it.
   */
  offsetsForTimes?(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: string | undefined }>>
  /** The topic's settings as createTopic() takes them (what a copy of it needs), or undefined when it does not exist. Optional. */
  topicSpec?(name: string): Promise<TopicSpec | undefined>
  /**
   * Where the backend logs from now on (its client library's messages, connection trouble): createClient calls it
   * with the client's logger before anything else. Optional; when several clients share a backend, the last one's
   * logger is used. Nothing logged may hold a credential.
   */
  setLogger?(logger: Logger): void
  /**
   * How this backend writes offsets: consumer.seek() refuses, with a ConfigError, an offset not in this format before
   * anything moves, and compares offsets with it. Optional; without it the backend's seek() checks offsets itself.
   */
  readonly offsetFormat?: OffsetFormat
  /**
   * A partition's range now: the offset of its oldest surviving record and its end, where the next record written goes.
   * consumer.seek() clamps its offset into it (and logs what it clamped). Optional: without it (or offsetFormat) a
   * seek goes to the offset as given.
   */
  offsetRange?(topic: string, partition: number): Promise<OffsetRange>
  /** Releases connections; producers and consumers made from it are closed first by the client. */
  close(): Promise<void>
}

/** A backend's offsets: checked and compared by the SDK (decimalOffsets and streamIdOffsets from '@keyed/sdk/backend'). */
export interface OffsetFormat {
  /** What the offsets look like, for errors: "decimal integers (as messages carry them)". */
  readonly description: string
  valid(offset: string): boolean
  /** Negative, zero or positive as a is before, equal to or after b (both valid). */
  compare(a: string, b: string): number
}

/**
 * A partition's offsets now. `low`: the oldest surviving record's offset (`high` when the partition is empty). `high`:
 * the offset the next record written will be at or after, so a seek there handles only records written after (Kafka
 * and memory: the end offset; Redis: the id just after the stream's last generated id).
 */
export interface OffsetRange {
  readonly low: string
  readonly high: string
}

/** What the backend does beyond the contract; the conformance suite skips, visibly, the cases of a capability declared false. */
export interface BackendCapabilities {
  /** Superseded records of compacted topics are removed, and tombstones after deleteRetentionMs. */
  readonly compaction: boolean
  /** Records older than retentionMs are removed. */
  readonly timeRetention: boolean
}

export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  readonly cleanupPolicy: CleanupPolicy
  readonly retentionMs: number | undefined
  readonly retentionBytes: number | undefined
  readonly deleteRetentionMs: number | undefined
  readonly minCompactionLagMs: number | undefined
  /** Backend-specific settings passed through unchanged. */
  readonly config: Readonly<Record<string, string>>
}

export interface TopicDescription {
  readonly name: string
  readonly partitions: number
  readonly cleanupPolicy: CleanupPolicy
}

export type Acks = 'all' | 'leader' | 'none'

/** Record batch compression; backends without it (memory, Redis) ignore it. */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export interface ProducerSettings {
  readonly idempotent: boolean
  readonly acks: Acks
  /** Requests in flight per connection. The SDK already serializes send calls when this is 1. */
  readonly maxInFlight: number
  readonly retries: number
  readonly clientId: string | undefined
  /** Absent means 'none'. */
  readonly compression?: Compression
}

/** A serialized record with its partition already chosen by the SDK. */
export interface OutgoingRecord {
  readonly topic: string
  readonly partition: number
  readonly key: Uint8Array | null
  /** null is a tombstone. */
  readonly value: Uint8Array | null
  readonly headers: Readonly<Record<string, string>>
  /** Milliseconds since the epoch. */
  readonly timestamp: number
}

export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  /** Position in the partition: a decimal integer on Kafka and memory, a stream entry id on Redis. */
  readonly offset: string
  readonly timestamp: number
}

export interface BackendProducer {
  /** Appends the records; resolves with their metadata in the same order, or rejects having appended none of a partition's records after a failure. */
  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]>
  /**
   * Optional, for a backend whose appends complete in the process (memory): appends the records before it returns,
   * with send()'s rules, and throws what send() would reject with. While nothing is queued or in flight, the SDK then
   * appends each call as it is made instead of queueing it for a request: there is no round trip to share.
   */
  appendNow?(records: readonly OutgoingRecord[]): RecordMetadata[]
  /**
   * Optional: send() for the request right behind the one in flight (`previous`, that request's send()), which must
   * not reach the log before it. The backend may prepare it at once (encode it while `previous` is at the server) but
   * writes nothing before `previous` resolved, and rejects having written nothing if it rejects. The SDK hands a
   * request over this way only under maxInFlight 1, and only when the next request is full already, so batches stay
   * as large as they would be.
   */
  sendAfter?(records: readonly OutgoingRecord[], previous: Promise<RecordMetadata[]>): Promise<RecordMetadata[]>
  /** appendNow for one record, if the backend has it: a one-record call then allocates no array either way. */
  appendOne?(record: OutgoingRecord): RecordMetadata
  close(): Promise<void>
}

export interface IncomingRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: Readonly<Record<string, string>>
  readonly timestamp: number
  /**
   * Set by a backend for a record it could not read fully (an entry another client wrote in its layout, say): the SDK
   * takes the deserialize failure path with it (a dead letter with stage 'deserialize', or a stop with a SerdeError
   * carrying this reason). The other fields hold what could be read (null, {} and 0 otherwise).
   */
  readonly decodeError?: { readonly field: SchemaField; readonly reason: string }
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** Records of one partition in offset order. */
export interface PartitionBatch extends TopicPartition {
  readonly records: readonly IncomingRecord[]
  /** False once this member lost the partition (rebalance, lost lease, closing): stop handling the rest. */
  isActive(): boolean
  /** Keeps the membership alive during a long batch (kafkajs needs this; others may do nothing). */
  heartbeat(): Promise<void>
}

export interface Subscription {
  readonly topic: string
  /** Where to start when the group has no committed position for a partition. */
  readonly fromBeginning: boolean
}

export interface GroupMemberOptions {
  readonly groupId: string
  readonly clientId: string | undefined
  readonly subscriptions: readonly Subscription[]
  /**
   * Called with the next records of a partition this member owns. A backend never calls it again for
   * the same partition before the previous call settled, never after the partition was revoked from this
   * member, and does not hand the partition to another member while a call is in flight (or fences it).
   */
  onBatch(batch: PartitionBatch): Promise<void>
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  /** Most records in one batch. */
  readonly maxBatchSize: number
  /**
   * How long the SDK's close() lets batches in flight run; it makes them return by then, so a backend's close() should
   * not abandon them sooner. If it does (a bound of its own), the SDK reports their records as unfinished.
   */
  readonly closeTimeoutMs?: number
  /**
   * Called when the member stopped for good after start() resolved (the client library crashed, the group refused it):
   * the SDK stops the consumer with this error. A backend that recovers by itself does not call it.
   */
  onFatal?(error: KeyedError): void
  /**
   * Called when partitions became this member's, before the first onBatch call of any of them. Optional; the SDK uses
   * it for consumer.assignment() and its 'partitionsAssigned' listeners. Must not throw (a backend ignores a throw).
   */
  onAssigned?(partitions: readonly TopicPartition[]): void
  /**
   * Called when partitions stopped being this member's (a rebalance, a lost lease, close): after the last onBatch call
   * of each of them settled, and before any other member of the group is handed one of them (onAssigned there), where
   * the backend can promise it: memory and Redis always; Kafka on a rebalance (kafkajs rejoins only after its batches
   * returned), while a member that closes reports its partitions once it left the group. A member expelled for
   * missing its session (frozen past sessionTimeoutMs) hears of it late: its partitions may already be elsewhere.
   * Memory and Kafka (kafkajs) rebalance eagerly: a rebalance revokes every partition and assigns again those the member keeps.
   */
  onRevoked?(partitions: readonly TopicPartition[]): void
}

export interface CommitOffset extends TopicPartition {
  /** Offset of the last record handled; the group resumes after it. */
  readonly offset: string
}

export interface BackendConsumer {
  /** Joins the group; resolves once this member took part in its first assignment. */
  start(): Promise<void>
  /** Records the group's position. Rejects with FencedError when this member no longer owns a partition. */
  commit(offsets: readonly CommitOffset[]): Promise<void>
  /** Stops fetching, waits for batches in flight, leaves the group. */
  close(): Promise<void>
  /**
   * Stops fetching these partitions until resume(): no batch of them is handed out after this returns except one
   * already being handed over (the SDK rewinds that one with seek). The membership stays alive however long the pause
   * lasts. The pause belongs to this member object and outlives rebalances: a paused partition that is assigned to
   * it again stays paused. May be called before start(). Optional: consumer.pause() needs it.
   */
  pause?(partitions: readonly TopicPartition[]): void
  /** Fetches these partitions again (those this member owns). */
  resume?(partitions: readonly TopicPartition[]): void
  /**
   * The next batch of the partition handed to onBatch starts at this offset (a record's offset; on Redis an entry id):
   * nothing fetched from the old position is handed out after this returns, and the group's position moves there once
   * the member commits past it (Redis: at once). The SDK calls it only for a partition this member owns, while no
   * onBatch call of it is in flight or from that call just before it returns. When the backend has offsetFormat
   * and offsetRange(), the SDK checked the offset and clamped it into the partition's range before (consumer.seek()).
   * Optional: consumer.seek() and consumer.pause() need it.
   */
  seek?(position: CommitOffset): void
}

/** Where resetOffsets() moves a group in one partition: to a record's offset, or to the partition's start or end. */
export type ResetPosition =
  | { readonly partition: number; readonly offset: string }
  | { readonly partition: number; readonly to: 'earliest' | 'latest' }

/** An offset resetOffsets() was given outside its partition's [earliest, end], and the edge it was set to instead. */
export interface ClampedOffset {
  readonly partition: number
  readonly requested: string
  readonly offset: string
}

/** The end of a partition: an opaque position of this backend (Kafka and memory: the next offset to be written; Redis: the id of the last entry added). */
export interface PartitionEnd {
  readonly partition: number
  readonly offset: string
}

export interface PartitionReaderOptions {
  readonly topic: string
  readonly partitions: readonly number[]
  /** Per partition, an end from endOffsets(): the reader says when it has delivered everything before it (caughtUp). */
  readonly until: ReadonlyMap<number, string>
  readonly clientId: string | undefined
  /** Most records in one batch. */
  readonly maxBatchSize: number
  /**
   * Called with a partition's records in offset order, from the oldest surviving one on. Never again for the same
   * partition before the previous call settled. A partition with nothing to read before its end gets one empty batch.
   */
  onBatch(batch: ReaderBatch): Promise<void>
  /** The reader stopped on a failure it cannot recover from; nothing more is delivered. */
  onError(error: unknown): void
}

export interface ReaderBatch extends TopicPartition {
  readonly records: readonly IncomingRecord[]
  /**
   * True on the batch after which every record before the partition's `until` end has been delivered (or was
   * removed by compaction or retention before the reader got to it), and on every batch after that.
   */
  readonly caughtUp: boolean
}

export interface BackendReader {
  /** Starts reading; resolves once reading started, not when caught up. */
  start(): Promise<void>
  /** Stops reading and waits for the batch in flight; bounded by the backend's own timeouts. */
  close(): Promise<void>
}

/** A consumer group's position in one partition. */
export interface GroupPartitionOffset extends TopicPartition {
  /**
   * The committed position as this backend writes positions (Kafka and memory: the next offset to read; Redis: the id
   * of the last entry the group finished), or undefined when the group committed nothing in this partition.
   */
  readonly committed: string | undefined
  /** The partition's end, as endOffsets() gives it. */
  readonly end: string
  /** Records after the committed position up to the end; with nothing committed, the records still in the partition (what a group starting from the beginning reads). */
  readonly lag: number
}
