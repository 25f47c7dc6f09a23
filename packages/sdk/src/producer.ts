import type { KeyedAbortSignal } from './signal.js'
import { Accumulator, type AccumulatorLimits } from './accumulator.js'
import type {
  Acks,
  Backend,
  Compression,
  BackendProducer,
  ProducerSettings,
  RecordMetadata,
} from './backend/contract.js'
import { checkSignal } from './abort.js'
import { AbortError, ClosedError, ConfigError, ReorderingProducerError, TimeoutError } from './errors.js'
import type { NullKeyStrategy, Partitioner } from './partitioners.js'
import { integerOption } from './options.js'
import { RecordPreparer, type SendRecordShape } from './prepare.js'
import {
  checkTopic,
  isCompacted,
  isTopic,
  type AnyTopic,
  type Compacted,
  type CompactedTopic,
  type HeadersInputOf,
  type KeyInputOf,
  type KeyRequired,
  type ValueInputOf,
} from './topic.js'
import type { TopicResolver } from './topic-resolver.js'
import type { ClientTelemetry } from './telemetry/hooks.js'
import { observedSend } from './telemetry/send.js'

export type { RecordMetadata }

/** Where a key is required, a key schema that admits null or undefined (z.string().nullable()) does not make it optional. */
type KeyField<T extends AnyTopic> =
  KeyRequired<T> extends true ? { key: NonNullable<KeyInputOf<T>> } : { key?: KeyInputOf<T> | null }
type ValueField<T extends AnyTopic> =
  Compacted<T> extends true ? { value: ValueInputOf<T> | null } : { value: ValueInputOf<T> }

/** A record for `send`: the key is required on ordered and compacted topics, and null values exist only on compacted ones. */
export type SendRecord<T extends AnyTopic> = KeyField<T> &
  ValueField<T> & {
    headers?: HeadersInputOf<T>
    /** Bypasses the partitioner. */
    partition?: number
    /** Milliseconds since the epoch; now when omitted. */
    timestamp?: number
  }

export interface SendOptions {
  /**
   * Aborting it removes the call while it is still queued (behind a request in flight, waiting for room, or being
   * validated): it rejects with an AbortError and nothing of it is sent. Once its request left, it cannot be unsent:
   * the call then settles as its request does.
   */
  signal?: KeyedAbortSignal
}

export interface ProducerOptions {
  /** 'strict': idempotent, acks from all in-sync replicas, one request in flight. Conflicting settings are refused. */
  ordering?: 'strict'
  idempotent?: boolean
  acks?: Acks
  maxInFlight?: number
  retries?: number
  /** Replaces murmur2 for every record that does not name its partition. */
  partitioner?: Partitioner
  /** Where keyless records go: 'sticky' (one partition per batch, the default) or 'round-robin'. */
  nullKeyStrategy?: NullKeyStrategy
  /** Record batch compression on Kafka ('none' by default); memory and Redis ignore it. */
  compression?: Compression
  /**
   * How long a request waits for more calls before it leaves, in ms. Default 0: a request leaves as soon as the
   * previous one settled, carrying every call that arrived meanwhile, so batches grow with the load by themselves
   * and an idle producer adds no delay. Raise it only when many small sends arrive while nothing is in flight.
   */
  lingerMs?: number
  /** Bounds of one backend request. The records of one call always go in one request; a larger call goes alone. */
  batch?: {
    /**
     * Default 1,000: larger requests gain nothing (the next one leaves as soon as this one is answered) and cost more
     * per record on Kafka, where kafkajs groups a request's messages by partition in quadratic time.
     */
    maxRecords?: number
    /**
     * Estimated bytes (keys, values, headers, framing). Default 1,000,000, under Kafka's default message.max.bytes; a topic
     * declared with a smaller max.message.bytes caps requests holding its records. If a size check still refuses a merged
     * request before it leaves (RecordTooLargeError with nothingSent), its calls are sent again one per request; a
     * server's refusal of part of a request (nothingSent false) fails its calls, as the rest may be in the log.
     */
    maxBytes?: number
  }
  /** Bytes of records queued or in flight, not yet acknowledged; default 32 MiB (Java's buffer.memory). */
  maxQueuedBytes?: number
  /** How long send() waits for room when maxQueuedBytes is reached, then rejects with a TimeoutError. Default 60,000 (Java's max.block.ms). */
  maxBlockMs?: number
  /** How long close() waits for queued records to be acknowledged. Default 30,000. */
  closeTimeoutMs?: number
}

const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

const DEFAULT_RETRIES = 5
const MiB = 1024 * 1024

export function resolveProducerSettings(options: ProducerOptions, clientId: string | undefined): ProducerSettings {
  if (options.ordering !== undefined && options.ordering !== 'strict') {
    throw new ConfigError(`Producer ordering must be 'strict' or omitted, got '${String(options.ordering)}'.`)
  }
  if (options.ordering === 'strict') {
    const conflicts = [
      options.idempotent === false && 'idempotent: false',
      options.acks !== undefined && options.acks !== 'all' && `acks: '${options.acks}'`,
      options.maxInFlight !== undefined && options.maxInFlight !== 1 && `maxInFlight: ${options.maxInFlight}`,
      options.retries === 0 && 'retries: 0',
    ].filter(Boolean)
    if (conflicts.length) {
      throw new ConfigError(
        `Producer ordering: 'strict' means idempotent, acks 'all' and maxInFlight 1, but ${conflicts.join(', ')} was also given. Drop one of them.`,
      )
    }
  }
  // Safe by default: the same settings as 'strict'; throughput is an explicit choice.
  const idempotent = options.idempotent ?? true
  const acks = options.acks ?? 'all'
  const maxInFlight = options.maxInFlight ?? 1
  const retries = options.retries ?? DEFAULT_RETRIES
  if (!['all', 'leader', 'none'].includes(acks))
    throw new ConfigError(`Producer acks must be 'all', 'leader' or 'none', got '${String(acks)}'.`)
  integerOption('Producer maxInFlight', maxInFlight, 1, 1)
  integerOption('Producer retries', retries, 0, 0)
  if (idempotent && acks !== 'all') {
    throw new ConfigError(
      `An idempotent producer needs acks: 'all' (got '${acks}'): the broker can only deduplicate what all replicas acknowledged. Set acks: 'all' or idempotent: false.`,
    )
  }
  if (idempotent && retries < 1)
    throw new ConfigError('An idempotent producer needs retries >= 1; idempotence exists to make retries safe.')
  if (idempotent && maxInFlight > 5)
    throw new ConfigError(
      `An idempotent producer keeps order with at most 5 requests in flight (Kafka's limit), got maxInFlight: ${maxInFlight}.`,
    )
  const compression = options.compression ?? 'none'
  if (!COMPRESSIONS.includes(compression))
    throw new ConfigError(
      `Producer compression must be one of ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}, got '${String(compression)}'.`,
    )
  return { idempotent, acks, maxInFlight, retries, clientId, compression }
}

export function resolveAccumulatorLimits(options: ProducerOptions, maxInFlight: number): AccumulatorLimits {
  const batch = options.batch ?? {}
  if (typeof batch !== 'object' || batch === null)
    throw new ConfigError('Producer batch must be an object { maxRecords?, maxBytes? }.')
  return {
    lingerMs: integerOption('Producer lingerMs', options.lingerMs, 0, 0),
    maxRecords: integerOption('Producer batch.maxRecords', batch.maxRecords, 1000, 1),
    // Below Kafka's default message.max.bytes (1 MiB + 12) with room for batch headers, so merged calls never exceed it.
    maxBytes: integerOption('Producer batch.maxBytes', batch.maxBytes, 1_000_000, 1),
    maxQueuedBytes: integerOption('Producer maxQueuedBytes', options.maxQueuedBytes, 32 * MiB, 1),
    maxBlockMs: integerOption('Producer maxBlockMs', options.maxBlockMs, 60_000, 0),
    maxInFlight,
  }
}

/**
 * Sends records through a record accumulator: send() validates and serializes its records at once (a bad call fails
 * alone, and nothing of it is queued), then the call joins one FIFO line; requests carry every call that is ready,
 * in call order, one request in flight by default. See the Accumulator for batching and failure rules.
 */
export class Producer {
  private backendProducer: BackendProducer | undefined
  private readonly preparer: RecordPreparer
  private readonly accumulator: Accumulator
  private readonly closeTimeoutMs: number
  private closing: Promise<void> | undefined
  readonly settings: ProducerSettings

  /** @internal Created by client.producer(). */
  constructor(
    private readonly backend: Backend,
    topics: TopicResolver,
    options: ProducerOptions,
    clientId: string | undefined,
    private readonly telemetry?: ClientTelemetry,
  ) {
    this.settings = resolveProducerSettings(options, clientId)
    if (options.partitioner !== undefined && typeof options.partitioner !== 'function') {
      throw new ConfigError('Producer partitioner must be a function (ctx) => partition.')
    }
    const strategy = options.nullKeyStrategy ?? 'sticky'
    if (strategy !== 'sticky' && strategy !== 'round-robin') {
      throw new ConfigError(`Producer nullKeyStrategy must be 'sticky' or 'round-robin', got '${String(strategy)}'.`)
    }
    this.closeTimeoutMs = integerOption('Producer closeTimeoutMs', options.closeTimeoutMs, 30_000, 1)
    this.preparer = new RecordPreparer(topics, options.partitioner, strategy)
    this.accumulator = new Accumulator(
      resolveAccumulatorLimits(options, this.settings.maxInFlight),
      () => (this.backendProducer ??= this.backend.producer(this.settings)),
      () => this.preparer.requestLeft(),
    )
  }

  /**
   * Validates and serializes every record now, then queues the call; one bad record fails the call and nothing of it
   * is sent. Resolves with the records' metadata once the backend acknowledged them. The records of one call always
   * travel in one request. If a request fails, its calls reject with that error and every call queued behind it with
   * a SendAbortedError, so nothing sent after a failed record lands before the caller has seen the failure.
   */
  send<T extends AnyTopic>(topic: T, record: SendRecord<T>, options?: SendOptions): Promise<RecordMetadata>
  send<T extends AnyTopic>(
    topic: T,
    records: readonly SendRecord<T>[],
    options?: SendOptions,
  ): Promise<RecordMetadata[]>
  send<T extends AnyTopic>(
    topic: T,
    input: SendRecord<T> | readonly SendRecord<T>[],
    options?: SendOptions,
  ): Promise<RecordMetadata | RecordMetadata[]> {
    try {
      if (this.closing) throw new ClosedError('producer')
      checkTopic(topic, 'send()')
      if (
        topic.ordering === 'per-key' &&
        !this.settings.idempotent &&
        this.settings.retries > 0 &&
        this.settings.maxInFlight > 1
      ) {
        throw new ReorderingProducerError(topic.name, this.settings)
      }
      const signal = checkSignal(options?.signal, 'send()')
      const many = Array.isArray(input)
      // Preparing runs now, up to its first asynchronous step; the call's place in line is taken right after.
      if (signal?.aborted) throw new AbortError('A send', signal.reason, 'Nothing of it was sent.')
      const start = this.telemetry?.send(topic.name)
      if (!many && start === undefined) {
        // One record, nothing observing it: the lean path concurrent single-record callers take.
        const one = this.preparer.prepareOne(topic, input as SendRecordShape)
        if (one instanceof Promise) return this.accumulator.add(one, true, signal)
        return this.accumulator.addOne(one, this.preparer.maxRequestBytes(topic), signal)
      }
      const prepared = this.preparer.prepare(topic, input as SendRecordShape | readonly SendRecordShape[], many)
      if (start === undefined) return this.accumulator.add(prepared, !many, signal)
      return observedSend(start, prepared, (call) => this.accumulator.add(call, !many, signal))
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  /** Writes a tombstone: compaction later removes every record of this key. Only compacted topics have tombstones. */
  async tombstone<T extends CompactedTopic>(
    topic: T,
    key: KeyInputOf<T>,
    options: { headers?: HeadersInputOf<T> } = {},
  ): Promise<RecordMetadata> {
    if (isTopic(topic) && !isCompacted(topic)) {
      throw new ConfigError(
        `Topic '${topic.name}' is not compacted (cleanupPolicy: '${topic.cleanupPolicy}'), so a tombstone would delete nothing. Declare cleanupPolicy: 'compact'.`,
      )
    }
    const record = { key, value: null, headers: options.headers } as unknown as SendRecord<T>
    return this.send(topic, record)
  }

  /** Resolves when every call made before it has settled: acknowledged, or rejected (each call's own promise says which). */
  flush(): Promise<void> {
    return this.accumulator.flush()
  }

  /**
   * Refuses new sends, waits up to closeTimeoutMs for the queued ones (a flush), then closes the backend's producer.
   * Past the bound, calls not yet sent reject and close() rejects with a TimeoutError. Every close() call shares one outcome.
   */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown())
  }

  private async shutDown(): Promise<void> {
    const deadline = Date.now() + this.closeTimeoutMs
    if ((await within(this.accumulator.flush(), this.closeTimeoutMs)) === 'timeout') {
      const error = new TimeoutError(
        'Closing the producer',
        this.closeTimeoutMs,
        'Calls still queued were not sent, and calls in flight were not answered in time (their records may still land); each of them rejected with a TimeoutError saying which.',
        { retriable: false },
      )
      this.accumulator.abandon(
        new TimeoutError(
          'A send queued when the producer closed',
          this.closeTimeoutMs,
          'The backend had not taken it yet: nothing of it was sent. Send it again on a new producer.',
        ),
        new TimeoutError(
          'A send in flight when the producer closed',
          this.closeTimeoutMs,
          'The backend had not answered: its records may still land, so sending again is at-least-once.',
        ),
      )
      await within(this.backendProducer?.close(), 1000).catch(() => undefined)
      throw error
    }
    if ((await within(this.backendProducer?.close(), Math.max(1, deadline - Date.now()))) === 'timeout') {
      throw new TimeoutError(
        "Closing the backend's producer",
        this.closeTimeoutMs,
        `The ${this.backend.name} backend did not close its producer in time; its connections close with the client.`,
        { retriable: false },
      )
    }
  }
}

/** 'timeout' when `promise` did not settle within `ms`; its rejection is passed on. */
async function within(promise: Promise<unknown> | undefined, ms: number): Promise<'done' | 'timeout'> {
  if (promise === undefined) return 'done'
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
  try {
    return await Promise.race([promise.then(() => 'done' as const), timedOut])
  } finally {
    clearTimeout(timer)
  }
}
