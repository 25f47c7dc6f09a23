/** Stable codes callers can branch on; messages may improve, codes do not change. */
export type KeyedErrorCode =
  | 'CONFIG'
  | 'SCHEMA'
  | 'SERDE'
  | 'MISSING_KEY'
  | 'PARTITIONER'
  | 'TOPIC_MISMATCH'
  | 'TOPIC_NOT_FOUND'
  | 'REORDERING_PRODUCER'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_REFUSED'
  | 'AUTHENTICATION'
  | 'RECORD_TOO_LARGE'
  | 'TIMEOUT'
  | 'FENCED'
  | 'HANDLER_FAILED'
  | 'DEAD_LETTER_FAILED'
  | 'CLOSED'
  | 'INVALID_RECORD'
  | 'NOT_READY'
  | 'NOT_OWNED'
  | 'SEND_ABORTED'
  | 'ABORTED'
  | 'NOT_ASSIGNED'
  | 'GROUP_IN_USE'

/** Codes whose cause is usually passing (a server down, a timeout): the same call may succeed later. */
const RETRIABLE_BY_DEFAULT: ReadonlySet<KeyedErrorCode> = new Set(['BACKEND_UNAVAILABLE', 'TIMEOUT'])

/** Marks keyed errors across copies of this package, where instanceof fails (two installed versions of @keyed/sdk). */
const BRAND = Symbol.for('@keyed/sdk/error')

export interface KeyedErrorOptions {
  readonly cause?: unknown
  /** Overrides the code's default answer to "may the same call succeed if tried again?". */
  readonly retriable?: boolean
}

export class KeyedError extends Error {
  readonly code: KeyedErrorCode
  /** True when trying the same operation again may succeed without changing anything (a server back up, a timeout). */
  readonly retriable: boolean
  constructor(code: KeyedErrorCode, message: string, options?: KeyedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retriable = options?.retriable ?? RETRIABLE_BY_DEFAULT.has(code)
    this.name = new.target.name
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * True for a keyed error (of this or another installed copy of @keyed/sdk), optionally of one code.
 * Use this rather than instanceof: an application can end up with two copies of the SDK.
 */
export function isKeyedError<C extends KeyedErrorCode>(
  error: unknown,
  code?: C,
): error is KeyedError & { readonly code: C } {
  if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[BRAND] !== true) return false
  return code === undefined || (error as KeyedError).code === code
}

/** A producer, consumer or client option that cannot work as given. */
export class ConfigError extends KeyedError {
  constructor(message: string) {
    super('CONFIG', message)
  }
}

export interface SchemaIssueDetail {
  readonly message: string
  readonly path: readonly PropertyKey[]
}

/** The part of a record that is wrong: 'record' when the record itself is not an object. */
export type SchemaField = 'key' | 'value' | 'headers' | 'timestamp' | 'record'

/** Where a record read from a topic sits, for errors about records received rather than sent. */
export interface ReceivedAt {
  readonly partition: number
  readonly offset: string
}

const receivedAt = (topic: string, at: ReceivedAt) =>
  `the record at offset ${at.offset} of partition ${at.partition} of topic '${topic}'`

/**
 * A record that failed its topic's key, value or header schema, or whose shape or timestamp is not one keyed accepts.
 * direction 'send': refused before sending, and nothing of its batch was sent; 'receive': read from the topic, and not
 * handed to the handler (it is dead-lettered, or the consumer stops).
 */
export class SchemaError extends KeyedError {
  readonly topic: string
  readonly field: SchemaField
  readonly index: number | undefined
  readonly issues: readonly SchemaIssueDetail[]
  readonly direction: 'send' | 'receive'
  /** Set when direction is 'receive'. */
  readonly partition: number | undefined
  readonly offset: string | undefined
  constructor(
    topic: string,
    field: SchemaField,
    issues: readonly SchemaIssueDetail[],
    index?: number,
    received?: ReceivedAt,
  ) {
    const detail = issues
      .map((i) => `${field}${i.path.length ? '.' + i.path.map(String).join('.') : ''}: ${i.message}`)
      .join('; ')
    super(
      'SCHEMA',
      received
        ? `Invalid ${field} in ${receivedAt(topic, received)}: ${detail}. The record does not match the topic's declaration ` +
            `(was it written by another producer?), so it was not handed to the handler.`
        : `Invalid ${field} for topic '${topic}'${index === undefined ? '' : ` (record ${index} of the batch)`}: ${detail}. Nothing of this batch was sent.`,
    )
    this.topic = topic
    this.field = field
    this.index = index
    this.issues = issues
    this.direction = received ? 'receive' : 'send'
    this.partition = received?.partition
    this.offset = received?.offset
  }
}

export interface SerdeErrorOptions {
  readonly cause?: unknown
  /** The record's place in the call, when serializing a batch. */
  readonly index?: number
  /** 'serialize' (the default) when sending, 'deserialize' when reading. */
  readonly direction?: 'serialize' | 'deserialize'
  /** Where the record that did not decode sits. */
  readonly received?: ReceivedAt
}

/** A serde (or the backend's record format) that could not encode or decode a part of a record. */
export class SerdeError extends KeyedError {
  readonly topic: string
  readonly field: SchemaField
  readonly index: number | undefined
  readonly direction: 'serialize' | 'deserialize'
  readonly partition: number | undefined
  readonly offset: string | undefined
  constructor(topic: string, field: SchemaField, message: string, options?: SerdeErrorOptions) {
    const direction = options?.direction ?? 'serialize'
    const where = options?.received
      ? ` of ${receivedAt(topic, options.received)}`
      : ` for topic '${topic}'${options?.index === undefined ? '' : ` (record ${options.index} of the batch)`}`
    super('SERDE', `Cannot ${direction} ${field}${where}: ${message}`, { cause: options?.cause })
    this.topic = topic
    this.field = field
    this.index = options?.index
    this.direction = direction
    this.partition = options?.received?.partition
    this.offset = options?.received?.offset
  }
}

/** A record without a key on a topic whose guarantees depend on the key (refused when sent, or found when read). */
export class MissingKeyError extends KeyedError {
  readonly topic: string
  readonly index: number | undefined
  readonly direction: 'send' | 'receive'
  readonly partition: number | undefined
  readonly offset: string | undefined
  constructor(topic: string, reason: string, index?: number, received?: ReceivedAt) {
    const where = index === undefined ? '' : ` (record ${index} of the batch)`
    const fix = `or declare the topic with ordering: 'none' and cleanupPolicy: 'delete' if records really have no identity.`
    super(
      'MISSING_KEY',
      received
        ? `${receivedAt(topic, received).replace(/^t/, 'T')} has no key, but the topic is ${reason}, so every record needs one; ` +
            `it was not handed to the handler. It was written by a producer that ignores the topic's declaration ` +
            `(a raw client, kcat without -K): give its records a key, ${fix}`
        : `Topic '${topic}' is ${reason}, so every record needs a key${where}. ` +
            `Give the record a key that names the entity it belongs to (a customer id, an order id…), ${fix}`,
    )
    this.topic = topic
    this.index = index
    this.direction = received ? 'receive' : 'send'
    this.partition = received?.partition
    this.offset = received?.offset
  }
}

/** A partitioner that chose no valid partition or threw (its error is the cause). */
export class PartitionerError extends KeyedError {
  constructor(message: string, options?: KeyedErrorOptions) {
    super('PARTITIONER', message, options)
  }
}

/** The backend's topic differs from the declaration in a way that breaks a guarantee. */
export class TopicMismatchError extends KeyedError {
  readonly topic: string
  readonly setting: string
  readonly declared: unknown
  readonly actual: unknown
  constructor(topic: string, setting: string, declared: unknown, actual: unknown, hint: string) {
    super(
      'TOPIC_MISMATCH',
      `Topic '${topic}' is declared with ${setting}=${String(declared)} but the backend has ${setting}=${String(actual)}. ${hint}`,
    )
    this.topic = topic
    this.setting = setting
    this.declared = declared
    this.actual = actual
  }
}

export class TopicNotFoundError extends KeyedError {
  constructor(topic: string) {
    super(
      'TOPIC_NOT_FOUND',
      `Topic '${topic}' does not exist on the backend and autoCreateTopics is off. ` +
        `Create it with client.admin().ensureTopics([topic]) or enable autoCreateTopics.`,
    )
  }
}

/** A producer configuration that can reorder records of one key, used on a per-key topic. */
export class ReorderingProducerError extends KeyedError {
  constructor(topic: string, settings: { retries: number; maxInFlight: number }) {
    super(
      'REORDERING_PRODUCER',
      `Topic '${topic}' is ordered per key, but this producer retries (retries=${settings.retries}) with ` +
        `${settings.maxInFlight} requests in flight and without idempotence: a failed request retried after a later one ` +
        `succeeded puts records of one key out of order. Use ordering: 'strict', or idempotent: true, or maxInFlight: 1.`,
    )
  }
}

/** The backend could not be reached or did not answer in time; retrying later may succeed. */
export class BackendUnavailableError extends KeyedError {
  constructor(backend: string, message: string, options?: KeyedErrorOptions) {
    super('BACKEND_UNAVAILABLE', `The ${backend} backend is unavailable: ${message}`, options)
  }
}

/** The backend answered and refused: retrying the same call fails the same way; the message says what to change. */
export class BackendRefusedError extends KeyedError {
  /** The setting or field to change, when the backend named one (a topic config, a consumer option). */
  readonly setting: string | undefined
  constructor(backend: string, message: string, options?: KeyedErrorOptions & { setting?: string }) {
    super('BACKEND_REFUSED', `The ${backend} backend refused the request: ${message}`, options)
    this.setting = options?.setting
  }
}

/** The server refused the credentials. Never carries the secret itself. */
export class AuthenticationError extends KeyedError {
  constructor(backend: string, message: string) {
    super('AUTHENTICATION', `The ${backend} backend refused the credentials: ${message}`)
  }
}

/** A record or batch larger than the backend accepts. */
export class RecordTooLargeError extends KeyedError {
  readonly topic: string
  readonly index: number | undefined
  /**
   * True when the refusal came before anything left (the SDK's or an adapter's size check): nothing of the
   * request was written. False when a server refused part of a request whose other parts it may have written.
   */
  readonly nothingSent: boolean
  constructor(topic: string, message: string, index?: number, options?: { nothingSent?: boolean }) {
    const where = index === undefined ? '' : ` (record ${index} of the call)`
    super('RECORD_TOO_LARGE', `A record for topic '${topic}'${where} is too large: ${message}`)
    this.topic = topic
    this.index = index
    this.nothingSent = options?.nothingSent ?? true
  }
}

/** An operation did not finish within its time bound (a send, a close). */
export class TimeoutError extends KeyedError {
  readonly timeoutMs: number
  constructor(what: string, timeoutMs: number, hint: string, options?: KeyedErrorOptions) {
    super('TIMEOUT', `${what} did not finish within ${timeoutMs} ms. ${hint}`, options)
    this.timeoutMs = timeoutMs
  }
}

/** This member no longer owns the partition; its commit was refused so the new owner's work is not overwritten. */
export class FencedError extends KeyedError {
  constructor(message: string) {
    super('FENCED', message)
  }
}

/** A handler kept failing after its retries and no dead-letter topic took the record. */
export class HandlerError extends KeyedError {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  constructor(topic: string, partition: number, offset: string, attempts: number, cause: unknown) {
    super(
      'HANDLER_FAILED',
      `The handler for '${topic}' partition ${partition} offset ${offset} failed ${attempts} time(s): ` +
        `${cause instanceof Error ? cause.message : String(cause)}. The consumer stopped without committing this record; ` +
        `configure deadLetter to route such records aside and keep going.`,
      { cause },
    )
    this.topic = topic
    this.partition = partition
    this.offset = offset
  }
}

/** A record that failed could not be written to its dead-letter topic; the consumer stopped without committing it. */
export class DeadLetterError extends KeyedError {
  constructor(topic: string, deadLetterTopic: string, cause: unknown) {
    super(
      'DEAD_LETTER_FAILED',
      `A record of '${topic}' failed and could not be written to the dead-letter topic '${deadLetterTopic}': ` +
        `${cause instanceof Error ? cause.message : String(cause)}. The consumer stopped without committing it.`,
      { cause, retriable: isKeyedError(cause) ? cause.retriable : false },
    )
  }
}

export class ClosedError extends KeyedError {
  constructor(what: string) {
    super('CLOSED', `This ${what} is closed; create a new one.`)
  }
}

/**
 * A record read from the backend that does not decode or does not pass its topic's schema, skipped by a reader that
 * keeps going (a table): the state it would have changed stays as it was.
 */
export class InvalidRecordError extends KeyedError {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  /** `reason` completes "the record was skipped: …" (its value does not match the topic's schema…). */
  constructor(topic: string, partition: number, offset: string, reason: string, cause: unknown) {
    super(
      'INVALID_RECORD',
      `The record at offset ${offset} of '${topic}' partition ${partition} was skipped: ${reason}. ` +
        `Its key keeps its previous value; fix the producer that wrote it, or widen the topic's schema and reload.`,
      { cause, retriable: false },
    )
    this.topic = topic
    this.partition = partition
    this.offset = offset
  }
}

/** State read before it was loaded (a table before ready() resolved); wait for it and read again. */
export class NotReadyError extends KeyedError {
  constructor(what: string, hint: string) {
    super('NOT_READY', `${what} is still loading: ${hint}`, { retriable: true })
  }
}

/**
 * A key read from a partitioned table (client.table(topic, { groupId })) whose partition another member of the
 * group holds. Retriable: ownership moves on a rebalance. Route the read by table.partitionOf(key).
 */
export class NotOwnedError extends KeyedError {
  readonly topic: string
  /** The partition the key belongs to. */
  readonly partition: number
  readonly groupId: string
  constructor(topic: string, partition: number, groupId: string, owned: readonly number[]) {
    super(
      'NOT_OWNED',
      `This key belongs to partition ${partition} of '${topic}', which another member of table group '${groupId}' holds ` +
        `(this member holds ${owned.length ? 'partitions ' + owned.join(', ') : 'no partition'}). Read it on the member ` +
        `that holds partition ${partition} (route by table.partitionOf(key)), or retry after the group rebalanced.`,
      { retriable: true },
    )
    this.topic = topic
    this.partition = partition
    this.groupId = groupId
  }
}

/**
 * A send that was queued behind a request that failed, and was therefore not sent: a producer sends nothing issued
 * after a failed record before its caller has seen that failure, so per-key order cannot skip over a lost record.
 */
export class SendAbortedError extends KeyedError {
  constructor(cause: unknown) {
    super(
      'SEND_ABORTED',
      `Not sent: an earlier send of this producer failed (${cause instanceof Error ? cause.message : String(cause)}), and nothing ` +
        `queued behind a failed request is sent, so no record lands after one that was lost. Nothing of this call was sent: ` +
        `handle the earlier failure, then send this again.`,
      { cause, retriable: true },
    )
  }
}

/**
 * The caller's AbortSignal ended the operation: a send still queued (nothing of it was sent), a subscribe still
 * joining, a message loop, or a close that stopped waiting for handlers. Its name is 'AbortError', as DOM aborts are.
 */
export class AbortError extends KeyedError {
  /** The signal's reason, as given to AbortController.abort(). */
  readonly reason: unknown
  constructor(what: string, reason: unknown, outcome: string) {
    const why =
      reason instanceof Error
        ? reason.message
        : reason === undefined
          ? 'no reason given'
          : typeof reason === 'object'
            ? JSON.stringify(reason)
            : String(reason as string | number | boolean | symbol | bigint)
    super('ABORTED', `${what} was aborted by its signal (${why}). ${outcome}`, {
      cause: reason instanceof Error ? reason : undefined,
      retriable: false,
    })
    this.reason = reason
  }
}

/** A seek for a partition this consumer does not own (not assigned yet, or handed to another member). */
export class NotAssignedError extends KeyedError {
  readonly topic: string
  readonly partition: number
  constructor(groupId: string, topic: string, partition: number, owned: readonly string[]) {
    super(
      'NOT_ASSIGNED',
      `Partition ${partition} of '${topic}' is not assigned to this member of group '${groupId}' ` +
        `(it owns ${owned.length ? owned.join(', ') : 'nothing'}), so it cannot seek there. Seek from a handler of that ` +
        `partition or after onPartitionsAssigned reported it; to move a whole group, close its members and use ` +
        `admin().resetOffsets().`,
      { retriable: false },
    )
    this.topic = topic
    this.partition = partition
  }
}

/** An admin change of a group's positions refused because the group has live members, which would overwrite it. */
export class GroupInUseError extends KeyedError {
  readonly groupId: string
  constructor(groupId: string, backend: string, members: number | undefined) {
    super(
      'GROUP_IN_USE',
      `Group '${groupId}' has ${members ?? 'some'} live member(s) on the ${backend} backend; its offsets were not reset, ` +
        `since live members would commit over them. Close every consumer of the group (or wait for their sessions to ` +
        `expire), then reset again; a member can move its own partitions with consumer.seek().`,
      { retriable: true },
    )
    this.groupId = groupId
  }
}
