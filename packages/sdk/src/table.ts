import { defaultLogger, type Logger } from './logger.js'
import type { Backend, BackendReader, IncomingRecord, ReaderBatch } from './backend/contract.js'
import { toBuffer } from './bytes.js'
import { integerOption } from './options.js'
import {
  ClosedError,
  ConfigError,
  InvalidRecordError,
  isKeyedError,
  NotReadyError,
  TimeoutError,
  BackendUnavailableError,
  type KeyedError,
} from './errors.js'
import { validate, type StandardSchemaV1, type ValidationOutcome } from './schema.js'
import { serdes } from './serdes.js'
import { checkTopic, isCompacted, type CompactedTopic, type KeyOf, type ValueOf } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'

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

function schemaCheck(field: 'key' | 'value', schema: StandardSchemaV1, data: unknown): unknown {
  const unwrap = (outcome: ValidationOutcome) => {
    if (outcome.ok) return outcome.value
    const detail = outcome.issues
      .map((i) => `${field}${i.path.length ? '.' + i.path.map(String).join('.') : ''}: ${i.message}`)
      .join('; ')
    return new Rejected(`its ${field} does not match the topic's schema (${detail})`, outcome.issues)
  }
  const outcome = validate(schema, data)
  return outcome instanceof Promise ? outcome.then(unwrap) : unwrap(outcome)
}

/**
 * The latest value of every key of a compacted topic, held in memory and kept current. It reads every partition
 * from the beginning without a consumer group, applies records in offset order per partition (a value sets the key,
 * a tombstone deletes it) and keeps following new records. Made by client.table(topic).
 */
export class Table<T extends CompactedTopic> implements Iterable<[KeyOf<T>, ValueOf<T>]> {
  private readonly byId = new Map<string, ValueOf<T>>()
  /** The decoded keys by id; only for keys that are not strings (string keys are their own id). */
  private readonly decodedKeys: Map<string, KeyOf<T>> | undefined
  private readonly stringKeys: boolean
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
    this.decodedKeys = this.stringKeys ? undefined : new Map()
    this.loaded = new Promise<void>(
      (resolve, reject) => (this.settleLoad = (error) => (error === undefined ? resolve() : reject(error))),
    )
    // ready() is optional for the caller; a failed load must not become an unhandled rejection.
    this.loaded.catch(() => undefined)
    this.starting = this.start().catch((error: unknown) => this.stop(error))
  }

  /** Resolves once every record up to the partitions' ends as of the table's start was applied; rejects if loading failed or the table was closed first. */
  ready(): Promise<void> {
    return this.loaded
  }

  /** True once ready() resolved (and until close). */
  get isReady(): boolean {
    return this.state === 'ready' || this.state === 'stopped'
  }

  get(key: KeyOf<T>): ValueOf<T> | undefined {
    this.readable()
    return this.byId.get(this.idOf(key))
  }

  has(key: KeyOf<T>): boolean {
    this.readable()
    return this.byId.has(this.idOf(key))
  }

  get size(): number {
    this.readable()
    return this.byId.size
  }

  *keys(): IterableIterator<KeyOf<T>> {
    for (const [key] of this.entries()) yield key
  }

  *values(): IterableIterator<ValueOf<T>> {
    this.readable()
    yield* this.byId.values()
  }

  *entries(): IterableIterator<[KeyOf<T>, ValueOf<T>]> {
    this.readable()
    for (const [id, value] of this.byId) yield [this.decodedKeys ? this.decodedKeys.get(id)! : (id as KeyOf<T>), value]
  }

  [Symbol.iterator](): IterableIterator<[KeyOf<T>, ValueOf<T>]> {
    return this.entries()
  }

  /** Calls the listener with every change applied after ready, in each partition's offset order. Returns the unsubscribe function. */
  subscribe(listener: TableListener<T>): () => void {
    if (typeof listener !== 'function')
      throw new ConfigError(`table('${this.topic.name}').subscribe() needs a listener function.`)
    if (this.state === 'closed') throw new ClosedError(`table of '${this.topic.name}'`)
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  /** Stops following and releases the backend's reader, within closeTimeoutMs. Reads after close fail with ClosedError. */
  async close(): Promise<void> {
    if (this.state === 'closed') return
    const wasLoading = this.state === 'loading'
    this.state = 'closed'
    this.failure = undefined
    this.listeners.clear()
    if (wasLoading) this.settleLoad(new ClosedError(`table of '${this.topic.name}' (closed before it was ready)`))
    let timer: NodeJS.Timeout | undefined
    const closing = this.starting.then(() => this.reader?.close())
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
        `The ${this.backend.name} backend's reader did not stop; its connections close with the client's backend.`,
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
      const waiting = Number.isFinite(this.partitions)
        ? `${this.partitions - this.caughtUp.size} of ${this.partitions} partitions still loading`
        : 'not started yet'
      throw new NotReadyError(
        `The table of '${this.topic.name}'`,
        `${waiting}. Await table.ready() before reading it, so no read sees a half-loaded table.`,
      )
    }
  }

  private idOf(key: unknown): string {
    if (this.stringKeys && typeof key === 'string') return key
    return toBuffer(this.topic.keySerde.serialize(key)).toString('latin1')
  }

  private async start(): Promise<void> {
    await this.topics.resolve(this.topic)
    if (this.isClosed()) return
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

  /** The reader failed: before ready, ready() rejects; after, the table keeps its last state and stops following. */
  private stop(error: unknown): void {
    const keyed = isKeyedError(error)
      ? error
      : new BackendUnavailableError(
          this.backend.name,
          `the table of '${this.topic.name}' stopped reading: ${String(error)}`,
          { cause: error },
        )
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

  private async onBatch(batch: ReaderBatch): Promise<void> {
    for (const record of batch.records) {
      if (this.state === 'closed') return
      const applied = this.apply(record)
      if (applied instanceof Promise) await applied
    }
    if (batch.caughtUp && this.state === 'loading' && !this.caughtUp.has(batch.partition)) {
      this.caughtUp.add(batch.partition)
      if (this.caughtUp.size >= this.partitions) {
        this.state = 'ready'
        this.settleLoad()
      }
    }
  }

  /** Synchronous unless a schema validates asynchronously. A record that cannot be applied is reported and changes nothing. */
  private apply(record: IncomingRecord): void | Promise<void> {
    const unread = record.decodeError
    // Headers and timestamps are not part of a table, so only an unreadable key or value stops a record.
    if (unread && unread.field !== 'headers' && unread.field !== 'timestamp')
      return this.reject(record, new Rejected(`its ${unread.field} could not be read (${unread.reason})`, null))
    if (record.key === null)
      return this.reject(record, new Rejected('it has no key, so it belongs to no entry of the table', null))
    let decoded: unknown
    try {
      decoded = this.stringKeys ? toBuffer(record.key).toString('utf8') : this.topic.keySerde.deserialize(record.key)
    } catch (cause) {
      return this.reject(
        record,
        new Rejected(`its key does not decode with the ${this.topic.keySerde.name} serde (${String(cause)})`, cause),
      )
    }
    const keySchema = this.topic.keySchema
    if (!keySchema) return this.applyValue(record, decoded)
    const key = schemaCheck('key', keySchema, decoded)
    return key instanceof Promise ? key.then((k) => this.applyValue(record, k)) : this.applyValue(record, key)
  }

  /** The rest of apply() once the key is known; no closure on the synchronous path, which every record takes. */
  private applyValue(record: IncomingRecord, key: unknown): void | Promise<void> {
    if (key instanceof Rejected) return this.reject(record, key)
    if (record.value === null) return this.set(record, key, null)
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
      return checked.then((v) => (v instanceof Rejected ? this.reject(record, v) : this.set(record, key, v)))
    return checked instanceof Rejected ? this.reject(record, checked) : this.set(record, key, checked)
  }

  private set(record: IncomingRecord, key: unknown, value: unknown): void {
    const id = this.idOf(key)
    // While loading nobody hears changes, so one map operation per record is enough.
    const notify = this.state === 'ready' && this.listeners.size > 0
    const previous = notify ? this.byId.get(id) : undefined
    if (value === null) {
      if (!this.byId.delete(id)) return
      this.decodedKeys?.delete(id)
    } else {
      this.byId.set(id, value as ValueOf<T>)
      this.decodedKeys?.set(id, key as KeyOf<T>)
    }
    if (!notify) return
    const change: TableChange<T> = {
      key: key as KeyOf<T>,
      value: value as ValueOf<T> | null,
      previous: previous ?? null,
      partition: record.partition,
      offset: record.offset,
    }
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (error) {
        // A listener's failure is its own; the table stays current for everyone else.
        this.logger.error(
          { topic: this.topic.name, partition: record.partition, offset: record.offset, err: error },
          `a listener of the table of '${this.topic.name}' threw on offset ${record.offset} of partition ${record.partition}`,
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
