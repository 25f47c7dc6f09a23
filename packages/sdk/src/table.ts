import { defaultLogger, type Logger } from './logger.js'
import type { Backend, BackendReader, IncomingRecord, ReaderBatch } from './backend/contract.js'
import { toBuffer, utf8 } from './bytes.js'
import { partitionFor } from './murmur2.js'
import { integerOption } from './options.js'
import {
  ClosedError,
  ConfigError,
  InvalidRecordError,
  isKeyedError,
  NotOwnedError,
  NotReadyError,
  TimeoutError,
  BackendUnavailableError,
  type KeyedError,
} from './errors.js'
import { toOutcome, type StandardSchemaV1 } from './schema.js'
import { serdes } from './serdes.js'
import { checkTopic, isCompacted, type CompactedTopic, type KeyOf, type ValueOf } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'
import { TableMembership } from './table/membership.js'
import { KeyStore } from './table/store.js'

/** One change a table applied after it was ready. */
export interface TableChange<T extends CompactedTopic> {
  readonly key: KeyOf<T>
  /** The new value; null when a tombstone deleted the key. */
  readonly value: ValueOf<T> | null
  /** The value before; null when the key was absent. */
  readonly previous: ValueOf<T> | null
  readonly partition: number
  readonly offset: string
}

export type TableListener<T extends CompactedTopic> = (change: TableChange<T>) => void

export interface TableOptions {
  /**
   * Called with an InvalidRecordError for a record that does not decode or validate (it is skipped: the key keeps
   * its previous value), and with the error that stopped the table from following (the table then keeps its last
   * state). Without it, both are logged as errors through the client's logger (stderr by default).
   */
  onError?: (error: KeyedError) => void
  /** Most records read in one batch. Default 1000. */
  maxBatchSize?: number
  /** Longest close() waits for the backend's reader before it gives up with a TimeoutError. Default 10000 ms. */
  closeTimeoutMs?: number
  /**
   * Partitioned mode, for tables too big for one process: the members of this consumer group share the topic's
   * partitions, and each holds only the keys of its own (Kafka Streams' KTable). A key of a partition held elsewhere
   * is a NotOwnedError naming its partition; size, keys(), entries() and iteration cover this member's loaded
   * partitions. Without groupId, every process holds every key.
   */
  groupId?: string
  /** Partitioned mode: the group's session timeout (a member silent this long is dropped). Default 10000 ms. */
  sessionTimeoutMs?: number
  /** Partitioned mode: how often the member heartbeats. Default 1000 ms. */
  heartbeatIntervalMs?: number
  /**
   * Partitioned mode: how long a revoked partition's keys are kept (and followed) in case the group hands it back,
   * as Memory and Kafka do after every rebalance. Default the session timeout; 0 drops them at once.
   */
  standbyMs?: number
}

/** One partition of a partitioned table: its keys, its reader, and whether it is this member's now. */
interface Part<T extends CompactedTopic> {
  readonly partition: number
  readonly store: KeyStore<KeyOf<T>, ValueOf<T>>
  /** Resolves once its reader started (or did not: dropped or closed first). */
  loading: Promise<void>
  reader: BackendReader | undefined
  caughtUp: boolean
  /** False while it is a standby: revoked, still followed, waiting to be handed back or dropped. */
  owned: boolean
  dropTimer: NodeJS.Timeout | undefined
  /** Changes applied while a standby of a loaded partition, told to subscribers if it is handed back. */
  pending: TableChange<T>[] | undefined
  /** Its reader stopped on this error; a part not caught up then answers reads with it. */
  failure: KeyedError | undefined
}

/** loading → ready → (stopped: no longer following) → closed; failed: loading did not finish. */
type State = 'loading' | 'ready' | 'stopped' | 'failed' | 'closed'

/** Why a record cannot be applied; carried to InvalidRecordError with the original error as its cause. */
class Rejected {
  constructor(
    readonly reason: string,
    readonly cause: unknown,
  ) {}
}

/**
 * The validated value, or a Rejected. Called once per record while a table loads, so a synchronous success allocates
 * nothing of its own (no outcome object, no closure): the schema's result is read directly.
 */
function schemaCheck(field: 'key' | 'value', schema: StandardSchemaV1, data: unknown): unknown {
  const result = schema['~standard'].validate(data)
  return result instanceof Promise ? result.then((r) => checked(field, r)) : checked(field, result)
}

function checked(field: 'key' | 'value', result: StandardSchemaV1.Result<unknown>): unknown {
  if (!result.issues) return result.value
  const outcome = toOutcome(result)
  const issues = outcome.ok ? [] : outcome.issues
  const detail = issues
    .map((i) => `${field}${i.path.length ? '.' + i.path.map(String).join('.') : ''}: ${i.message}`)
    .join('; ')
  return new Rejected(`its ${field} does not match the topic's schema (${detail})`, issues)
}

/**
 * The latest value of every key of a compacted topic, held in memory and kept current. It reads every partition
 * from the beginning without a consumer group, applies records in offset order per partition (a value sets the key,
 * a tombstone deletes it) and keeps following new records. Made by client.table(topic).
 */
export class Table<T extends CompactedTopic> implements Iterable<[KeyOf<T>, ValueOf<T>]> {
  /** Every key, in the global mode; unused in partitioned mode, where each part has its own. */
  private readonly store: KeyStore<KeyOf<T>, ValueOf<T>>
  private readonly stringKeys: boolean
  /** Partitioned mode: the partitions this member owns or keeps as standbys. */
  private readonly parts = new Map<number, Part<T>>()
  private readonly groupId: string | undefined
  private membership: TableMembership | undefined
  /** Partitioned mode: it joined the group, so ready can be judged by what it owns. */
  private joined = false
  /** Partitioned mode: joined with no partition, it waits this long for one before it is ready with none. */
  private idleTimer: NodeJS.Timeout | undefined
  private idleWaited = false
  /** After a revocation that took every partition (an eager rebalance), the standbys the next assignment decides on. */
  private awaitingAssignment: Set<number> | undefined
  /** Readers of dropped partitions still stopping; close() waits for them. */
  private readonly stopping = new Set<Promise<void>>()
  private readonly standbyMs: number
  private readonly sessionTimeoutMs: number
  private readonly heartbeatIntervalMs: number
  private readonly listeners = new Set<TableListener<T>>()
  private readonly caughtUp = new Set<number>()
  private partitions = Infinity
  private state: State = 'loading'
  private failure: KeyedError | undefined
  private reader: BackendReader | undefined
  private readonly loaded: Promise<void>
  private settleLoad!: (error?: KeyedError) => void
  private readonly starting: Promise<void>
  private readonly maxBatchSize: number
  private readonly closeTimeoutMs: number

  /** @internal Created by client.table(). */
  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    readonly topic: T,
    private readonly options: TableOptions,
    private readonly clientId: string | undefined,
    private readonly logger: Logger = defaultLogger,
  ) {
    checkTopic(topic, 'client.table()')
    if (!isCompacted(topic)) {
      throw new ConfigError(
        `client.table('${topic.name}') needs a compacted topic, and this one is declared with cleanupPolicy: '${topic.cleanupPolicy}': ` +
          `on it old values and deletes are not kept per key, so a table would not be the latest value of each key. ` +
          `Declare the topic with cleanupPolicy: 'compact', or read it with client.consumer().`,
      )
    }
    if (typeof backend.endOffsets !== 'function' || typeof backend.reader !== 'function') {
      throw new ConfigError(
        `The ${backend.name} backend cannot serve tables: it implements neither endOffsets() nor reader() of the Backend contract.`,
      )
    }
    if (options.onError !== undefined && typeof options.onError !== 'function')
      throw new ConfigError('Table onError must be a function.')
    this.maxBatchSize = integerOption('Table maxBatchSize', options.maxBatchSize, 1000, 1)
    this.closeTimeoutMs = integerOption('Table closeTimeoutMs', options.closeTimeoutMs, 10_000, 1)
    this.stringKeys = topic.keySerde === serdes.string()
    this.store = new KeyStore(this.stringKeys)
    if (options.groupId !== undefined && (typeof options.groupId !== 'string' || options.groupId.length === 0))
      throw new ConfigError(
        'Table groupId must be a non-empty string: the consumer group whose members share the partitions.',
      )
    this.groupId = options.groupId
    this.sessionTimeoutMs = integerOption('Table sessionTimeoutMs', options.sessionTimeoutMs, 10_000, 1)
    this.heartbeatIntervalMs = integerOption('Table heartbeatIntervalMs', options.heartbeatIntervalMs, 1000, 1)
    this.standbyMs = integerOption('Table standbyMs', options.standbyMs, this.sessionTimeoutMs, 0)
    this.loaded = new Promise<void>(
      (resolve, reject) => (this.settleLoad = (error) => (error === undefined ? resolve() : reject(error))),
    )
    // ready() is optional for the caller; a failed load must not become an unhandled rejection.
    this.loaded.catch(() => undefined)
    this.starting = this.start().catch((error: unknown) => this.stop(error))
  }

  /**
   * Resolves once every record up to the partitions' ends as of the table's start was applied (partitioned mode: of
   * every partition this member owns, the first time it owns some and they are all loaded after it joined, or a
   * session timeout after joining when the group gave it none); rejects if loading failed or the table was closed first.
   */
  ready(): Promise<void> {
    return this.loaded
  }

  /** True once ready() resolved (and until close). */
  get isReady(): boolean {
    return this.state === 'ready' || this.state === 'stopped'
  }

  get(key: KeyOf<T>): ValueOf<T> | undefined {
    this.readable()
    const id = this.idOf(key)
    return this.groupId === undefined ? this.store.byId.get(id) : this.ownedStore(id).byId.get(id)
  }

  has(key: KeyOf<T>): boolean {
    this.readable()
    const id = this.idOf(key)
    return this.groupId === undefined ? this.store.byId.has(id) : this.ownedStore(id).byId.has(id)
  }

  /** The keys held; partitioned mode: of this member's loaded partitions. */
  get size(): number {
    this.readable()
    let size = 0
    for (const store of this.stores()) size += store.size
    return size
  }

  *keys(): IterableIterator<KeyOf<T>> {
    for (const [key] of this.entries()) yield key
  }

  *values(): IterableIterator<ValueOf<T>> {
    this.readable()
    for (const store of this.stores()) yield* store.byId.values()
  }

  /** Every key and value held; partitioned mode: of this member's loaded partitions. */
  *entries(): IterableIterator<[KeyOf<T>, ValueOf<T>]> {
    this.readable()
    for (const store of this.stores()) yield* store.entries()
  }

  [Symbol.iterator](): IterableIterator<[KeyOf<T>, ValueOf<T>]> {
    return this.entries()
  }

  /**
   * The partition a key belongs to, as the producer's default partitioner places it (murmur2 of the serialized key,
   * Kafka's rule): in partitioned mode, the member that owns it answers for it. Throws NotReadyError until the
   * table resolved its topic (the partition count may be the backend's, under topicMismatch: 'follow-backend').
   */
  partitionOf(key: KeyOf<T>): number {
    if (this.partitions === Infinity)
      throw new NotReadyError(
        `The table of '${this.topic.name}'`,
        'its topic is not resolved yet; await table.ready().',
      )
    return partitionFor(this.keyBytes(key), this.partitions)
  }

  /** The partitions this member owns, sorted (loaded or still loading); in the global mode, every partition once started. */
  assignment(): number[] {
    if (this.groupId === undefined) return Number.isFinite(this.partitions) ? [...Array(this.partitions).keys()] : []
    return this.owned()
  }

  /** True when this member owns the key's partition (so get() answers for it once that partition is loaded). */
  owns(key: KeyOf<T>): boolean {
    if (this.groupId === undefined) return true
    return this.parts.get(this.partitionOf(key))?.owned === true
  }

  /** Calls the listener with every change applied after ready, in each partition's offset order. Returns the unsubscribe function. */
  subscribe(listener: TableListener<T>): () => void {
    if (typeof listener !== 'function')
      throw new ConfigError(`table('${this.topic.name}').subscribe() needs a listener function.`)
    if (this.state === 'closed') throw new ClosedError(`table of '${this.topic.name}'`)
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  /**
   * Stops following and releases the backend's readers (partitioned mode: leaves the group too), within
   * closeTimeoutMs. Reads after close fail with ClosedError.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return
    const wasLoading = this.state === 'loading'
    this.state = 'closed'
    this.failure = undefined
    this.listeners.clear()
    clearTimeout(this.idleTimer)
    if (wasLoading) this.settleLoad(new ClosedError(`table of '${this.topic.name}' (closed before it was ready)`))
    let timer: NodeJS.Timeout | undefined
    const closing = this.starting.then(() =>
      Promise.allSettled([
        this.reader?.close(),
        this.membership?.close(),
        ...[...this.parts.values()].map((part) => this.drop(part)),
        ...this.stopping,
      ]),
    )
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.closeTimeoutMs)),
    )
    const outcome = await Promise.race([
      closing.then(
        () => 'closed' as const,
        () => 'closed' as const,
      ),
      timedOut,
    ])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      throw new TimeoutError(
        `Closing the table of '${this.topic.name}'`,
        this.closeTimeoutMs,
        `The ${this.backend.name} backend's reader${this.groupId === undefined ? '' : 's or group membership'} did not stop; its connections close with the client's backend.`,
      )
    }
  }

  /** A method, so checks after an await are not narrowed away. */
  private isClosed(): boolean {
    return this.state === 'closed'
  }

  private readable(): void {
    if (this.state === 'closed') throw new ClosedError(`table of '${this.topic.name}'`)
    if (this.state === 'failed') throw this.failure!
    if (this.state === 'loading') {
      const waiting =
        this.groupId !== undefined
          ? this.joined && this.owned().length === 0
            ? `waiting for table group '${this.groupId}' to assign this member partitions`
            : this.joined
              ? `partitions ${this.owned()
                  .filter((p) => !this.parts.get(p)!.caughtUp)
                  .join(', ')} of this member still loading`
              : `joining table group '${this.groupId}'`
          : Number.isFinite(this.partitions)
            ? `${this.partitions - this.caughtUp.size} of ${this.partitions} partitions still loading`
            : 'not started yet'
      throw new NotReadyError(
        `The table of '${this.topic.name}'`,
        `${waiting}. Await table.ready() before reading it, so no read sees a half-loaded table.`,
      )
    }
  }

  /** Partitioned mode: the store of the key's partition when this member owns it and loaded it; otherwise why not. */
  private ownedStore(id: string): KeyStore<KeyOf<T>, ValueOf<T>> {
    // The id is the key's serialized bytes (a string key is its UTF-8 bytes): what the producer hashed.
    const partition = partitionFor(Buffer.from(id, this.stringKeys ? 'utf8' : 'latin1'), this.partitions)
    const part = this.parts.get(partition)
    if (!part?.owned) throw new NotOwnedError(this.topic.name, partition, this.groupId!, this.owned())
    if (!part.caughtUp) {
      if (part.failure) throw part.failure
      throw new NotReadyError(
        `Partition ${partition} of the table of '${this.topic.name}'`,
        `this member was assigned it recently and is reading it from the beginning; read the key again once it is loaded.`,
      )
    }
    return part.store
  }

  /** The stores reads of the whole table cover: every key, or this member's loaded partitions. */
  private stores(): Array<KeyStore<KeyOf<T>, ValueOf<T>>> {
    if (this.groupId === undefined) return [this.store]
    return this.owned()
      .map((p) => this.parts.get(p)!)
      .filter((part) => part.caughtUp)
      .map((part) => part.store)
  }

  private owned(): number[] {
    return [...this.parts.values()]
      .filter((part) => part.owned)
      .map((part) => part.partition)
      .sort((a, b) => a - b)
  }

  private keyBytes(key: unknown): Buffer {
    return toBuffer(this.topic.keySerde.serialize(key))
  }

  private idOf(key: unknown): string {
    if (this.stringKeys && typeof key === 'string') return key
    return this.keyBytes(key).toString('latin1')
  }

  private async start(): Promise<void> {
    const { partitions } = await this.topics.resolve(this.topic)
    if (this.isClosed()) return
    if (this.groupId !== undefined) return this.join(partitions)
    const ends = await this.backend.endOffsets!(this.topic.name)
    if (this.isClosed()) return
    const until = new Map(ends.map((e) => [e.partition, e.offset]))
    this.partitions = until.size
    const reader = this.backend.reader!({
      topic: this.topic.name,
      partitions: [...until.keys()],
      until,
      clientId: this.clientId,
      maxBatchSize: this.maxBatchSize,
      onBatch: (batch) => this.onBatch(batch),
      onError: (error) => this.stop(error),
    })
    this.reader = reader
    await reader.start()
  }

  /** Partitioned mode: joins the group; partitions are loaded as the group assigns them. */
  private async join(partitions: number): Promise<void> {
    // The producer spreads keys over the resolved count, so keys are located by it too.
    this.partitions = partitions
    const membership = new TableMembership(
      this.backend,
      this.topic.name,
      {
        groupId: this.groupId!,
        clientId: this.clientId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        closeTimeoutMs: this.closeTimeoutMs,
      },
      {
        assigned: (list) => this.assigned(list),
        revoked: (list) => this.revoked(list),
        fatal: (error) => this.stop(error),
      },
    )
    this.membership = membership
    await membership.start()
    if (this.isClosed()) return
    this.joined = true
    // A cooperative rebalance (Kafka's cooperative-sticky) gives a newcomer nothing in its first round and its share
    // in the next; only a member still without partitions a session timeout later has none to wait for.
    this.idleTimer = setTimeout(() => {
      this.idleWaited = true
      this.checkReady()
    }, this.sessionTimeoutMs).unref()
    this.checkReady()
  }

  private assigned(list: readonly number[]): void {
    if (this.isClosed()) return
    const now = new Set(list)
    // After an eager rebalance the assignment is the whole answer: a standby it leaves out is someone else's now.
    if (this.awaitingAssignment) {
      for (const p of this.awaitingAssignment) {
        const part = this.parts.get(p)
        if (part && !part.owned && !now.has(p)) void this.drop(part)
      }
      this.awaitingAssignment = undefined
    }
    const fresh: Array<Part<T>> = []
    for (const partition of now) {
      const part = this.parts.get(partition)
      if (part) {
        // Handed back: it is current already, so it serves at once.
        clearTimeout(part.dropTimer)
        part.dropTimer = undefined
        part.owned = true
        const pending = part.pending
        part.pending = undefined
        if (pending) for (const change of pending) this.tell(change)
        continue
      }
      const created: Part<T> = {
        partition,
        store: new KeyStore(this.stringKeys),
        loading: Promise.resolve(),
        reader: undefined,
        caughtUp: false,
        owned: true,
        dropTimer: undefined,
        pending: undefined,
        failure: undefined,
      }
      this.parts.set(partition, created)
      fresh.push(created)
    }
    if (fresh.length > 0) {
      const load = this.load(fresh)
      for (const part of fresh) part.loading = load
    }
    this.checkReady()
  }

  /** Reads each new partition from the beginning to its end as of now (one reader each, so each can be dropped alone). */
  private async load(fresh: ReadonlyArray<Part<T>>): Promise<void> {
    let ends: ReadonlyMap<number, string>
    try {
      ends = new Map((await this.backend.endOffsets!(this.topic.name)).map((e) => [e.partition, e.offset]))
    } catch (error) {
      for (const part of fresh) this.partFailed(part, error)
      return
    }
    await Promise.all(
      fresh.map(async (part) => {
        if (this.isClosed() || this.parts.get(part.partition) !== part) return
        const reader = this.backend.reader!({
          topic: this.topic.name,
          partitions: [part.partition],
          until: new Map([[part.partition, ends.get(part.partition) ?? '0']]),
          clientId: this.clientId,
          maxBatchSize: this.maxBatchSize,
          onBatch: (batch) => this.onBatch(batch, part),
          onError: (error) => this.partFailed(part, error),
        })
        part.reader = reader
        await reader.start().catch((error: unknown) => this.partFailed(part, error))
      }),
    )
  }

  private revoked(list: readonly number[]): void {
    if (this.isClosed()) return
    for (const partition of list) {
      const part = this.parts.get(partition)
      if (!part?.owned) continue
      part.owned = false
      // A loaded partition keeps what its subscribers would hear, in case it comes back (eager rebalances).
      if (part.caughtUp && this.isReady && this.listeners.size > 0) part.pending = []
      clearTimeout(part.dropTimer)
      if (this.standbyMs === 0) void this.drop(part)
      else part.dropTimer = setTimeout(() => void this.drop(part), this.standbyMs).unref()
    }
    if (this.owned().length === 0) {
      this.awaitingAssignment = new Set([...this.parts.values()].filter((p) => !p.owned).map((p) => p.partition))
    }
  }

  /** Stops the part's reader and forgets its keys; resolves once the reader stopped. */
  private drop(part: Part<T>): Promise<void> {
    clearTimeout(part.dropTimer)
    part.dropTimer = undefined
    if (this.parts.get(part.partition) === part) this.parts.delete(part.partition)
    part.pending = undefined
    const stopped = part.loading
      .then(() => part.reader?.close())
      .catch(() => undefined)
      .finally(() => this.stopping.delete(stopped))
    this.stopping.add(stopped)
    return stopped
  }

  /** A partition's reader failed: before ready, of an owned partition, the table fails; otherwise it is reported. */
  private partFailed(part: Part<T>, error: unknown): void {
    if (this.isClosed() || this.parts.get(part.partition) !== part) return
    const keyed = this.keyed(error)
    if (this.state === 'loading' && part.owned) return this.stop(keyed)
    part.failure = keyed
    this.report(keyed)
  }

  private checkReady(): void {
    if (this.state !== 'loading' || !this.joined) return
    let owned = 0
    for (const part of this.parts.values()) {
      if (!part.owned) continue
      if (!part.caughtUp) return
      owned++
    }
    if (owned === 0 && !this.idleWaited) return
    clearTimeout(this.idleTimer)
    this.state = 'ready'
    this.settleLoad()
  }

  private keyed(error: unknown): KeyedError {
    return isKeyedError(error)
      ? error
      : new BackendUnavailableError(
          this.backend.name,
          `the table of '${this.topic.name}' stopped reading: ${String(error)}`,
          { cause: error },
        )
  }

  /** The reader failed: before ready, ready() rejects; after, the table keeps its last state and stops following. */
  private stop(error: unknown): void {
    const keyed = this.keyed(error)
    if (this.state === 'loading') {
      this.state = 'failed'
      this.failure = keyed
      this.settleLoad(keyed)
      return
    }
    if (this.state !== 'ready') return
    this.state = 'stopped'
    this.report(keyed)
  }

  /** `part`: partitioned mode, the part this batch's reader loads (a dropped part's reader may still deliver one). */
  private async onBatch(batch: ReaderBatch, part?: Part<T>): Promise<void> {
    for (const record of batch.records) {
      if (this.state === 'closed' || (part && this.parts.get(part.partition) !== part)) return
      const applied = this.apply(record, part)
      if (applied instanceof Promise) await applied
    }
    if (!batch.caughtUp) return
    if (part) {
      if (!part.caughtUp && this.parts.get(part.partition) === part) {
        part.caughtUp = true
        this.checkReady()
      }
      return
    }
    if (this.state === 'loading' && !this.caughtUp.has(batch.partition)) {
      this.caughtUp.add(batch.partition)
      if (this.caughtUp.size >= this.partitions) {
        this.state = 'ready'
        this.settleLoad()
      }
    }
  }

  /** Synchronous unless a schema validates asynchronously. A record that cannot be applied is reported and changes nothing. */
  private apply(record: IncomingRecord, part: Part<T> | undefined): void | Promise<void> {
    const unread = record.decodeError
    // Headers and timestamps are not part of a table, so only an unreadable key or value stops a record.
    if (unread && unread.field !== 'headers' && unread.field !== 'timestamp')
      return this.reject(record, new Rejected(`its ${unread.field} could not be read (${unread.reason})`, null))
    if (record.key === null)
      return this.reject(record, new Rejected('it has no key, so it belongs to no entry of the table', null))
    let decoded: unknown
    try {
      decoded = this.stringKeys ? utf8(record.key) : this.topic.keySerde.deserialize(record.key)
    } catch (cause) {
      return this.reject(
        record,
        new Rejected(`its key does not decode with the ${this.topic.keySerde.name} serde (${String(cause)})`, cause),
      )
    }
    const keySchema = this.topic.keySchema
    if (!keySchema) return this.applyValue(record, decoded, part)
    const key = schemaCheck('key', keySchema, decoded)
    return key instanceof Promise
      ? key.then((k) => this.applyValue(record, k, part))
      : this.applyValue(record, key, part)
  }

  /** The rest of apply() once the key is known; no closure on the synchronous path, which every record takes. */
  private applyValue(record: IncomingRecord, key: unknown, part: Part<T> | undefined): void | Promise<void> {
    if (key instanceof Rejected) return this.reject(record, key)
    if (record.value === null) return this.set(record, key, null, part)
    let value: unknown
    try {
      value = this.topic.valueSerde.deserialize(record.value)
    } catch (cause) {
      return this.reject(
        record,
        new Rejected(
          `its value does not decode with the ${this.topic.valueSerde.name} serde (${String(cause)})`,
          cause,
        ),
      )
    }
    const valueSchema = this.topic.valueSchema
    const checked = valueSchema ? schemaCheck('value', valueSchema, value) : value
    if (checked instanceof Promise)
      return checked.then((v) => (v instanceof Rejected ? this.reject(record, v) : this.set(record, key, v, part)))
    return checked instanceof Rejected ? this.reject(record, checked) : this.set(record, key, checked, part)
  }

  private set(record: IncomingRecord, key: unknown, value: unknown, part: Part<T> | undefined): void {
    const id = this.idOf(key)
    let store = this.store
    // Partitioned mode: subscribers hear owned, loaded partitions; a loaded standby keeps its changes for a comeback.
    let hear = this.state === 'ready'
    if (part) {
      if (this.parts.get(part.partition) !== part) return // dropped while an asynchronous schema ran
      store = part.store
      hear = hear && part.caughtUp && (part.owned || part.pending !== undefined)
    }
    // While loading nobody hears changes, so one map operation per record is enough.
    const notify = hear && this.listeners.size > 0
    const previous = notify ? store.byId.get(id) : undefined
    if (value === null) {
      if (!store.delete(id)) return
    } else {
      store.set(id, key as KeyOf<T>, value as ValueOf<T>)
    }
    if (!notify) return
    const change: TableChange<T> = {
      key: key as KeyOf<T>,
      value: value as ValueOf<T> | null,
      previous: previous ?? null,
      partition: record.partition,
      offset: record.offset,
    }
    if (part?.pending) part.pending.push(change)
    else this.tell(change)
  }

  private tell(change: TableChange<T>): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (error) {
        // A listener's failure is its own; the table stays current for everyone else.
        this.logger.error(
          { topic: this.topic.name, partition: change.partition, offset: change.offset, err: error },
          `a listener of the table of '${this.topic.name}' threw on offset ${change.offset} of partition ${change.partition}`,
        )
      }
    }
  }

  private reject(record: IncomingRecord, rejected: Rejected): void {
    this.report(
      new InvalidRecordError(this.topic.name, record.partition, record.offset, rejected.reason, rejected.cause),
    )
  }

  private report(error: KeyedError): void {
    if (this.options.onError) {
      try {
        this.options.onError(error)
        return
      } catch (thrown) {
        this.logger.error(
          { topic: this.topic.name, err: thrown },
          `the onError of the table of '${this.topic.name}' threw`,
        )
      }
    }
    this.logger.error({ topic: this.topic.name, err: error }, `table of '${this.topic.name}'`)
  }
}
