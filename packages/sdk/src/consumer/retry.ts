import type { PartitionBatch } from '../backend/contract.js'
import { sleep } from '../sleep.js'
import { RecordFailure } from './decode.js'

export interface RetryPolicy {
  readonly attempts: number
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
}

/** The wait before try number `attempt + 1`: doubling from the initial backoff, capped. */
export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1))

/** How often a backoff checks whether its record may still run. */
const BACKOFF_STEP_MS = 100

/**
 * Waits the backoff before try `attempt + 1`, in steps, and ends early once `stillWanted` says no (the partition was
 * lost, the consumer is closing): a close does not wait out a long backoff, and the record stays uncommitted.
 */
export async function backoff(
  policy: RetryPolicy,
  attempt: number,
  stillWanted: () => boolean,
  pause: (ms: number) => Promise<void> = sleep,
): Promise<void> {
  const until = Date.now() + backoffMs(policy, attempt)
  for (let left = until - Date.now(); left > 0 && stillWanted(); left = until - Date.now())
    await pause(Math.min(left, BACKOFF_STEP_MS))
}

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
    await backoff(policy, attempts, () => batch.isActive() && !stopping(), pause)
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
