import type { PartitionBatch } from '../backend/contract.js'
import { RecordFailure } from './decode.js'

export interface RetryPolicy {
  readonly attempts: number
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The wait before try number `attempt + 1`: doubling from the initial backoff, capped. */
export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1))

export type RetryOutcome =
  /** A later try succeeded. */
  | { readonly ok: true }
  /** Tries ran out (or the failure is not worth retrying): the last failure and how many tries were made. */
  | { readonly ok: false; readonly failure: RecordFailure; readonly attempts: number }
  /** The partition was lost or the consumer is stopping: the record stays unfinished and uncommitted. */
  | { readonly ok: false; readonly failure: undefined; readonly attempts: number }

/**
 * The tries after a failed first one, with backoff (`pause`: with concurrency, the record gives up its slot meanwhile,
 * and only its key waits). Only handler failures are retried: bytes that do not decode or data
 * that does not validate will not next time either. The membership is kept alive while waiting.
 */
export async function retry(
  policy: RetryPolicy,
  first: RecordFailure,
  tryAgain: () => Promise<void>,
  batch: PartitionBatch,
  stopping: () => boolean,
  pause: (ms: number) => Promise<void> = sleep,
): Promise<RetryOutcome> {
  let failure = first
  let attempts = 1
  while (failure.stage === 'handler' && attempts < policy.attempts) {
    await pause(backoffMs(policy, attempts))
    await batch.heartbeat().catch(() => undefined)
    if (!batch.isActive() || stopping()) return { ok: false, failure: undefined, attempts }
    attempts++
    try {
      await tryAgain()
      return { ok: true }
    } catch (error) {
      failure = error instanceof RecordFailure ? error : new RecordFailure('handler', error)
    }
  }
  return { ok: false, failure, attempts }
}
