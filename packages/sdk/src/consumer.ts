import type { Backend, BackendConsumer, BackendProducer, GroupMemberOptions, IncomingRecord, PartitionBatch } from './backend/contract.js'
import { BackendUnavailableError, ClosedError, ConfigError, DeadLetterError, HandlerError, isKeyedError, KeyedError, SchemaError, SerdeError } from './errors.js'
import { partitionFor } from './murmur2.js'
import { validate, type StandardSchemaV1, type ValidationOutcome } from './schema.js'
import { defineTopic, isTopic, type AnyTopic, type Compacted, type HeadersOf, type KeyOf, type KeyRequired, type ValueOf } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'

/** A record as a handler sees it. The key may be null only on unordered, uncompacted topics; the value only on compacted ones (a tombstone). */
export interface Message<T extends AnyTopic> {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: KeyRequired<T> extends true ? KeyOf<T> : KeyOf<T> | null
  readonly value: Compacted<T> extends true ? ValueOf<T> | null : ValueOf<T>
  readonly headers: HeadersOf<T>
  readonly timestamp: number
}

export type Handler<T extends AnyTopic> = (message: Message<T>) => void | Promise<void>

export interface SubscribeOptions {
  /** Where to start when the group has no committed position: the oldest record (true) or only new ones (false, the default). */
  fromBeginning?: boolean
}

export interface RetryOptions {
  /** Tries per record, the first included. Default 3. */
  attempts?: number
  /** Wait before the second try; doubles each time. Default 100 ms. */
  initialBackoffMs?: number
  /** Longest wait between tries. Default 5000 ms. */
  maxBackoffMs?: number
}

export interface DeadLetterOptions {
  /** Topic name for records that failed; `<topic>.dlq` by default. */
  topic?: string | ((sourceTopic: string) => string)
}

export interface ConsumerOptions {
  groupId: string
  /** Commit after each handled batch (the default), or only through consumer.commit(message). */
  autoCommit?: boolean
  retry?: RetryOptions
  /** Where records go after their last failed try; without it the consumer stops with a HandlerError. */
  deadLetter?: boolean | DeadLetterOptions
  /** Called when the consumer stops on an error; by default the error is printed to stderr. */
  onError?: (error: KeyedError) => void
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  maxBatchSize?: number
}

/** Headers a dead-lettered record carries, besides its own. */
export const DEAD_LETTER_HEADERS = {
  error: 'keyed-dlq-error',
  stage: 'keyed-dlq-stage',
  topic: 'keyed-dlq-topic',
  partition: 'keyed-dlq-partition',
  offset: 'keyed-dlq-offset',
  attempts: 'keyed-dlq-attempts',
  groupId: 'keyed-dlq-group',
} as const

interface Route {
  readonly topic: AnyTopic
  readonly handler: Handler<AnyTopic>
  readonly fromBeginning: boolean
}

type Stage = 'deserialize' | 'validate' | 'handler'

class RecordFailure extends Error {
  constructor(
    readonly stage: Stage,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error))
  }
}

function checked(topic: string, field: 'key' | 'value' | 'headers', schema: StandardSchemaV1, data: unknown): unknown {
  const unwrap = (outcome: ValidationOutcome) => {
    if (!outcome.ok) throw new RecordFailure('validate', new SchemaError(topic, field, outcome.issues))
    return outcome.value
  }
  const outcome = validate(schema, data)
  return outcome instanceof Promise ? outcome.then(unwrap) : unwrap(outcome)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`Consumer ${name} must be an integer >= ${min}, got ${String(value)}.`)
  return value
}

export class Consumer {
  private readonly routes = new Map<string, Route>()
  private member: BackendConsumer | undefined
  private deadLetterProducer: BackendProducer | undefined
  private failure: KeyedError | undefined
  private closed = false
  private restart: Promise<void> = Promise.resolve()
  private readonly attempts: number
  private readonly initialBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly autoCommit: boolean
  private readonly membership: Pick<GroupMemberOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBatchSize'>
  private stoppedWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []

  /** @internal Created by client.consumer(). */
  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    private readonly options: ConsumerOptions,
    private readonly clientId: string | undefined,
  ) {
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new ConfigError('A consumer needs a groupId: members with the same groupId share the partitions of the topics they read.')
    }
    this.attempts = positiveInt('retry.attempts', options.retry?.attempts, 3)
    this.initialBackoffMs = positiveInt('retry.initialBackoffMs', options.retry?.initialBackoffMs, 100, 0)
    this.maxBackoffMs = positiveInt('retry.maxBackoffMs', options.retry?.maxBackoffMs, 5000, 0)
    this.autoCommit = options.autoCommit ?? true
    this.membership = {
      sessionTimeoutMs: positiveInt('sessionTimeoutMs', options.sessionTimeoutMs, 10000),
      heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
      maxBatchSize: positiveInt('maxBatchSize', options.maxBatchSize, 500),
    }
  }

  get groupId(): string {
    return this.options.groupId
  }

  /**
   * Reads a topic as a member of the group: records of one partition reach the handler one at a time, in order,
   * and are committed after the handler resolves. Resolves once the member joined the group.
   */
  async subscribe<T extends AnyTopic>(topic: T, handler: Handler<T>, options: SubscribeOptions = {}): Promise<void> {
    if (this.closed) throw new ClosedError('consumer')
    if (!isTopic(topic)) throw new ConfigError('subscribe() takes a topic from defineTopic() as its first argument.')
    if (typeof handler !== 'function') throw new ConfigError(`subscribe('${topic.name}') needs a handler function.`)
    if (this.routes.has(topic.name)) throw new ConfigError(`This consumer already subscribed to '${topic.name}'; one handler per topic.`)
    await this.topics.resolve(topic)
    this.routes.set(topic.name, { topic, handler: handler as Handler<AnyTopic>, fromBeginning: options.fromBeginning ?? false })
    // Membership is rebuilt with the whole subscription list; serialize so overlapping subscribes do not race.
    const next = this.restart.then(() => this.rejoin())
    this.restart = next.catch(() => undefined)
    await next
  }

  /** Commits the group's position after this message (use with autoCommit: false). */
  async commit(message: { topic: string; partition: number; offset: string }): Promise<void> {
    if (!this.member) throw new ClosedError('consumer')
    await this.member.commit([{ topic: message.topic, partition: message.partition, offset: message.offset }])
  }

  /** Resolves when the consumer is closed; rejects with the error that stopped it. */
  stopped(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.closed && !this.member) return Promise.resolve()
    return new Promise((resolve, reject) => this.stoppedWaiters.push({ resolve, reject }))
  }

  /** Finishes the batches in flight, commits them and leaves the group. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.restart
    await this.shutdown(undefined)
  }

  private async rejoin(): Promise<void> {
    if (this.member) {
      const old = this.member
      this.member = undefined
      await old.close()
    }
    if (this.closed) return
    const member = this.backend.consumer({
      groupId: this.options.groupId,
      clientId: this.clientId,
      subscriptions: [...this.routes.values()].map((r) => ({ topic: r.topic.name, fromBeginning: r.fromBeginning })),
      onBatch: (batch) => this.onBatch(member, batch),
      // A member that dies after joining stops this consumer like any other fatal error (unless it was replaced).
      onFatal: (error) => {
        if (this.member === member) this.fail(error)
      },
      ...this.membership,
    })
    this.member = member
    await member.start()
  }

  private async shutdown(error: KeyedError | undefined): Promise<void> {
    const member = this.member
    this.member = undefined
    await member?.close()
    await this.deadLetterProducer?.close()
    this.deadLetterProducer = undefined
    const waiters = this.stoppedWaiters
    this.stoppedWaiters = []
    for (const w of waiters) (error ? w.reject(error) : w.resolve())
  }

  private fail(error: KeyedError): void {
    if (this.failure) return
    this.failure = error
    this.closed = true
    if (this.options.onError) this.options.onError(error)
    else if (this.stoppedWaiters.length === 0) console.error(`[keyed] consumer '${this.options.groupId}' stopped:`, error)
    // Not awaited: we are inside a batch, and closing the member waits for that batch to return.
    void this.restart.then(() => this.shutdown(error))
  }

  /** Handles one partition's batch. Never rejects: every failure becomes a retry, a dead letter or a stop. */
  private async onBatch(member: BackendConsumer, batch: PartitionBatch): Promise<void> {
    const route = this.routes.get(batch.topic)
    if (!route || this.failure) return
    let last: IncomingRecord | undefined
    for (const record of batch.records) {
      if (!batch.isActive() || this.failure) break
      // The first try stays synchronous where decoding and the handler are, so a batch costs no promise per record.
      try {
        let message = this.decode(route.topic, record)
        if (message instanceof Promise) message = await message
        const result = route.handler(message)
        if (result instanceof Promise) await result
      } catch (error) {
        if (!(await this.retry(route, record, batch, error instanceof RecordFailure ? error : new RecordFailure('handler', error)))) break
      }
      last = record
    }
    if (last && this.autoCommit) {
      try {
        await member.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset }])
      } catch (error) {
        // A fenced member lost the partition; its new owner redelivers from the last commit. Anything else is fatal.
        if (!isKeyedError(error, 'FENCED')) this.fail(isKeyedError(error) ? error : new BackendUnavailableError(this.backend.name, `the commit failed: ${String(error)}`, { cause: error }))
      }
    }
  }

  /** After a failed first try: the remaining tries with backoff, then the dead letter or a stop. True when the record is done. */
  private async retry(route: Route, record: IncomingRecord, batch: PartitionBatch, first: RecordFailure): Promise<boolean> {
    let failure = first
    let attempts = 1
    // Bytes that do not decode will not decode next time either.
    while (failure.stage === 'handler' && attempts < this.attempts) {
      await sleep(Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempts - 1)))
      await batch.heartbeat().catch(() => undefined)
      if (!batch.isActive() || this.failure) return false
      attempts++
      try {
        await route.handler((await this.decode(route.topic, record)) as Message<AnyTopic>)
        return true
      } catch (error) {
        failure = error instanceof RecordFailure ? error : new RecordFailure('handler', error)
      }
    }
    const cause = failure.error
    if (this.options.deadLetter) {
      try {
        await this.deadLetter(record, failure.stage, cause, attempts)
        return true
      } catch (error) {
        this.fail(new DeadLetterError(record.topic, this.deadLetterName(record.topic), error))
        return false
      }
    }
    this.fail(isKeyedError(cause) && failure.stage !== 'handler' ? cause : new HandlerError(record.topic, record.partition, record.offset, attempts, cause))
    return false
  }

  /** Synchronous unless a schema validates asynchronously. Throws RecordFailure for bytes or data the topic does not accept. */
  private decode(topic: AnyTopic, record: IncomingRecord): Message<AnyTopic> | Promise<Message<AnyTopic>> {
    if (record.decodeError) {
      const { field, reason } = record.decodeError
      throw new RecordFailure('deserialize', new SerdeError(topic.name, field, `offset ${record.offset} of partition ${record.partition} does not decode: ${reason}`))
    }
    let key: unknown = null
    let value: unknown = null
    try {
      if (record.key !== null) key = topic.keySerde.deserialize(record.key)
    } catch (cause) {
      throw new RecordFailure('deserialize', new SerdeError(topic.name, 'key', `offset ${record.offset} of partition ${record.partition} does not decode: ${String(cause)}`, { cause }))
    }
    try {
      if (record.value !== null) value = topic.valueSerde.deserialize(record.value)
    } catch (cause) {
      throw new RecordFailure('deserialize', new SerdeError(topic.name, 'value', `offset ${record.offset} of partition ${record.partition} does not decode: ${String(cause)}`, { cause }))
    }
    const build = (k: unknown, v: unknown, h: unknown) =>
      ({ topic: record.topic, partition: record.partition, offset: record.offset, key: k, value: v, headers: h, timestamp: record.timestamp }) as Message<AnyTopic>
    if (!topic.keySchema && !topic.valueSchema && !topic.headersSchema) return build(key, value, record.headers)
    const k = key !== null && topic.keySchema ? checked(topic.name, 'key', topic.keySchema, key) : key
    const v = value !== null && topic.valueSchema ? checked(topic.name, 'value', topic.valueSchema, value) : value
    const h = topic.headersSchema ? checked(topic.name, 'headers', topic.headersSchema, record.headers) : record.headers
    if (k instanceof Promise || v instanceof Promise || h instanceof Promise) return Promise.all([k, v, h]).then(([a, b, c]) => build(a, b, c))
    return build(k, v, h)
  }

  private deadLetterName(topic: string): string {
    const option = this.options.deadLetter === true ? {} : (this.options.deadLetter as DeadLetterOptions)
    return typeof option.topic === 'function' ? option.topic(topic) : (option.topic ?? `${topic}.dlq`)
  }

  private async deadLetter(record: IncomingRecord, stage: Stage, cause: unknown, attempts: number): Promise<void> {
    const name = this.deadLetterName(record.topic)
    const source = this.routes.get(record.topic)!.topic
    // Declared like any topic, so a bad dead-letter name fails with defineTopic's explanation.
    const { partitions } = await this.topics.resolve(defineTopic(name, { partitions: source.partitions, ordering: 'none' }), true)
    this.deadLetterProducer ??= this.backend.producer({ idempotent: true, acks: 'all', maxInFlight: 1, retries: 5, clientId: this.clientId })
    await this.deadLetterProducer.send([
      {
        topic: name,
        // Same key, same hash: a dead-letter topic keeps the source's per-key grouping.
        partition: record.key === null ? record.partition % partitions : partitionFor(record.key, partitions),
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [DEAD_LETTER_HEADERS.error]: cause instanceof Error ? cause.message : String(cause),
          [DEAD_LETTER_HEADERS.stage]: stage,
          [DEAD_LETTER_HEADERS.topic]: record.topic,
          [DEAD_LETTER_HEADERS.partition]: String(record.partition),
          [DEAD_LETTER_HEADERS.offset]: record.offset,
          [DEAD_LETTER_HEADERS.attempts]: String(attempts),
          [DEAD_LETTER_HEADERS.groupId]: this.options.groupId,
        },
        timestamp: record.timestamp,
      },
    ])
  }
}
