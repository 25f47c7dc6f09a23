import type { KeyedAbortSignal } from '../signal.js'
import type { AnyTopic } from '../topic.js'
import type { Message } from './types.js'

/** Records of one partition handed to a batch handler at once, in offset order. */
export interface MessageBatch<T extends AnyTopic> {
  readonly topic: string
  readonly partition: number
  /**
   * The decoded records, in offset order; never empty. Records that did not decode or validate are not here: they
   * went to the dead-letter topic before the handler was called (without deadLetter the consumer stops on the first
   * one, after handling the records before it). On a retry, the records after the prefix already committed.
   */
  readonly messages: readonly Message<T>[]
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number
  /**
   * Commits the group's position after `upTo`, a message of this batch (offsets compare, so a copy will do). If the
   * handler then throws, only the messages after it are retried, dead-lettered or left uncommitted. Rejects with a
   * FencedError once this member lost the partition.
   */
  commit(upTo: Message<T>): Promise<void>
  /** False once the member lost the partition (a rebalance) or the consumer stopped: stop early, the rest is redelivered. */
  isActive(): boolean
  /**
   * Aborted when isActive() turns false (checked every 100 ms) or when the consumer gives up waiting for handlers
   * (closeTimeoutMs, or close() with an aborted signal). Pass it to fetch(), database drivers and so on.
   */
  readonly signal: KeyedAbortSignal
  /** Keeps the group membership alive during a long batch (Kafka needs it past the session timeout; others do nothing). */
  heartbeat(): Promise<void>
}

export type BatchHandler<T extends AnyTopic> = (batch: MessageBatch<T>) => void | Promise<void>

export interface SubscribeBatchOptions {
  /** Where to start when the group has no committed position: the oldest record (true) or only new ones (false, the default). */
  fromBeginning?: boolean
  /**
   * Most records in one batch; default the consumer's maxBatchSize (500). A batch holds what the backend had ready, up
   * to this: it is not held back to fill up. A value above the consumer's maxBatchSize raises the member's fetch size.
   */
  maxBatchSize?: number
  /** Aborting it closes the consumer, as close() does (a subscribe still joining rejects with an AbortError). */
  signal?: KeyedAbortSignal
}

export interface MessagesOptions {
  /** Where to start when the group has no committed position: the oldest record (true) or only new ones (false, the default). */
  fromBeginning?: boolean
  /** Most records taken from a partition at once (and so buffered per partition); default the consumer's maxBatchSize. */
  maxBatchSize?: number
  /** Aborting it ends the loop (the pending next() rejects with an AbortError) and closes the consumer. */
  signal?: KeyedAbortSignal
}

export interface CloseOptions {
  /**
   * Aborting it stops waiting for handlers in flight, as closeTimeoutMs running out does: what finished is committed,
   * the member leaves the group, and close() rejects with an AbortError naming the records left unfinished.
   */
  signal?: KeyedAbortSignal
}
