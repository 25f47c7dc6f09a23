import type { IncomingRecord, OutgoingRecord, RecordMetadata } from '../backend/contract.js'
import type { GroupLag } from '../lag.js'

// What the producer and the consumer ask of telemetry. These types name nothing of @opentelemetry/api, so the
// published types compile without it installed; telemetry/otel.ts implements them with it.

/** One client's telemetry: OpenTelemetry when its API is installed (and not turned off), else none at all. */
export interface ClientTelemetry {
  /**
   * Called by send() as it is called (the active context then is the span's parent); the function it returns starts
   * the observation once the call's records are prepared, or gives undefined when nothing records it. Undefined when
   * nothing records the call and there is no context to pass on.
   */
  send(topic: string): ((records: readonly OutgoingRecord[]) => SendObservation | undefined) | undefined
  consumer(groupId: string): ConsumerTelemetry
}

export interface SendObservation {
  /** Headers to put on each record (the trace context), or undefined when there is nothing to propagate. */
  readonly headers: Readonly<Record<string, string>> | undefined
  /** The call settled: with the records' metadata, or failed with the error. */
  end(metadata: readonly RecordMetadata[] | undefined, error?: unknown): void
}

export interface ConsumerTelemetry {
  /** A batch was handed to the consumer (counted as consumed). */
  received(topic: string, partition: number, count: number): void
  /** Whether process() can do anything now (something records, or a propagator may find a context); asked per batch. */
  enabled(): boolean
  /** Starts observing the handling of one record: its tries, retries and dead letter; undefined when nothing records it. */
  process(record: IncomingRecord): RecordObservation | undefined
  /**
   * Starts observing one batch handed to a batch handler (subscribeBatch, messages()): one span for the batch, linked
   * to each record's creation context; undefined when nothing records it.
   */
  processBatch(topic: string, partition: number, records: readonly IncomingRecord[]): RecordObservation | undefined
  /** A record went to the dead-letter topic (counted). */
  deadLettered(record: IncomingRecord, deadLetterTopic: string): void
  /** Reports the group's lag as a gauge, read through `lag` when metrics are collected, until the returned function is called. */
  observeLag(lag: () => Promise<GroupLag>): () => void
}

export interface RecordObservation {
  /** Runs the handler with the record's span as the active context. */
  run<A, R>(fn: (arg: A) => R, arg: A): R
  /** A try failed (recorded as an exception event). */
  tryFailed(error: unknown): void
  /** A try failed and the record is tried again (attempt: the number of the try about to start). */
  retrying(attempt: number, error: unknown): void
  /**
   * The record is done: handled (no error), or failed for good with this error, then written to the dead-letter
   * topic when one is named (else it stops the consumer).
   */
  end(error?: unknown, deadLetterTopic?: string): void
}
