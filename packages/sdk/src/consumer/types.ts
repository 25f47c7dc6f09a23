import type { KeyedAbortSignal } from '../signal.js'
import type { TopicPartition } from '../backend/contract.js'
import type { KeyedError } from '../errors.js'
import type { AnyTopic, Compacted, HeadersOf, KeyOf, KeyRequired, ValueOf } from '../topic.js'

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
  /**
   * This topic's own concurrency, instead of the consumer's: its records then have their own budget of records in
   * flight (1: one at a time per partition). Same rules as the consumer option. An override replaces only what it
   * names: the consumer's ordering (if it set one) and maxBufferedRecords still apply.
   */
  concurrency?: number
  /** This topic's ordering, instead of the consumer's; the consumer's concurrency still applies. */
  ordering?: 'key' | 'partition'
  /**
   * Aborting it closes the consumer, as close() does: a member's subscriptions change only by rejoining the group, so
   * one subscription cannot be dropped alone. A subscribe still joining rejects with an AbortError.
   */
  signal?: KeyedAbortSignal
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
  /** Commit after each handled batch (the default), or only through consumer.commit(message) (not with concurrency > 1). */
  autoCommit?: boolean
  retry?: RetryOptions
  /** Where records go after their last failed try; without it the consumer stops with a HandlerError. */
  deadLetter?: boolean | DeadLetterOptions
  /** Called when the consumer stops on an error; without it (and with nobody awaiting stopped()) the error is logged through the client's logger. */
  onError?: (error: KeyedError) => void
  /**
   * Called when partitions became this consumer's, before any of their records reaches a handler. A listener that
   * throws is ignored. See consumer.assignment().
   */
  onPartitionsAssigned?: (partitions: readonly TopicPartition[]) => void
  /**
   * Called when partitions stopped being this consumer's: after their last records were handled and committed and,
   * on memory, Redis and a Kafka rebalance, before another member is given them. Memory and Kafka (kafkajs) rebalance eagerly:
   * every partition is revoked, and those this member keeps are assigned again.
   */
  onPartitionsRevoked?: (partitions: readonly TopicPartition[]) => void
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  maxBatchSize?: number
  /**
   * Longest a close() (or the stop after a fatal error) may take, in ms; default the session timeout. Handlers in
   * flight have until shortly before it to settle; past it close() rejects with a TimeoutError, the unfinished
   * records stay uncommitted and the group redelivers them. The default is the session timeout because, past it,
   * the group (Kafka's coordinator, a Redis lease, the memory broker) treats a member that stopped heartbeating as
   * gone and hands its partitions on: waiting longer only delays the caller.
   */
  closeTimeoutMs?: number
  /**
   * Most records handled at once by this consumer. Default 1: each partition's records run one at a time, in order,
   * with partitions in parallel, exactly as without the option. Above 1, with ordering 'key', records of different keys
   * run concurrently and records of one key one at a time in offset order.
   */
  concurrency?: number
  /**
   * 'key' (the default when concurrency > 1): order is kept per key; keyless records of ordering: 'none' topics run
   * unordered. 'partition': each partition's records run one at a time (concurrency then changes nothing).
   */
  ordering?: 'key' | 'partition'
  /**
   * With concurrency > 1: most records fetched and accepted but not started yet. A batch that does not fit waits for
   * room, and its partition fetches nothing more meanwhile. Default max(maxBatchSize, 8 × concurrency).
   */
  maxBufferedRecords?: number
}
