import type { KeyedAbortSignal } from '../signal.js'
import type { BackendConsumer, IncomingRecord, PartitionBatch } from '../backend/contract.js'
import { ClosedError, ConfigError } from '../errors.js'
import type { AnyTopic } from '../topic.js'
import type { BatchHandler, MessageBatch } from './batch-types.js'
import { RecordFailure, type Decoder } from './decode.js'
import { backoff, type RetryPolicy } from './retry.js'
import type { Message } from './types.js'

/** A subscribeBatch() route: its handler and how many records it takes at once. */
export interface BatchRoute {
  readonly handler: BatchHandler<AnyTopic>
  readonly maxBatchSize: number
}

/** What running a batch handler needs from the batch runner. */
export interface BatchContext {
  readonly retry: RetryPolicy
  readonly autoCommit: boolean
  /** A dead-letter topic is configured: failed records go there instead of stopping the consumer. */
  readonly deadLettering: boolean
  /** The consumer is stopping on an error, or gave up waiting for handlers: nothing more starts. */
  stopping(): boolean
  /** The consumer gave up waiting for handlers: nothing may be committed any more. */
  abandoned(): boolean
  /** Aborted when the consumer gives up waiting for handlers. */
  readonly gaveUp: KeyedAbortSignal
  /** The automatic commit after a finished batch: a fenced member's is dropped, any other failure stops the consumer. */
  commitAfter(member: BackendConsumer, record: IncomingRecord): Promise<void>
  /** A record that failed for good: dead-lettered (true), or the consumer stops with its error (false). */
  settle(record: IncomingRecord, failure: RecordFailure, attempts: number): Promise<boolean>
}

/** Where a batch in flight stands, for a close that gives up on it. */
export interface Progress {
  /** Records not finished: named in the close's error, left uncommitted. */
  inFlight(): IncomingRecord[]
  /** The last record of the finished prefix: the position a close that gives up commits. */
  prefixEnd(): IncomingRecord | undefined
  /** Records that finished past the prefix: set where records finish out of order (per-key concurrency). */
  finishedPastPrefix?(): IncomingRecord[]
}

/**
 * Thrown (by the message iterator) to leave the rest of a batch unfinished: no retry, no dead letter, nothing after
 * `upTo` committed. `upTo`, when given, is committed first.
 */
export class LeftUnfinished extends Error {
  constructor(readonly upTo?: Message<AnyTopic>) {
    super('left unfinished')
  }
}

const noop = () => {}

/** How often a batch's signal checks whether the partition is still owned (the contract has no revocation event). */
const ACTIVE_POLL_MS = 100

/** An AbortSignal that aborts when `isActive` turns false or `gaveUp` aborts; stop() ends the watch. */
function watch(isActive: () => boolean, gaveUp: KeyedAbortSignal): { signal: KeyedAbortSignal; stop(): void } {
  const controller = new AbortController()
  const abort = () => controller.abort(new ClosedError('partition assignment (revoked, or the consumer stopped)'))
  if (gaveUp.aborted || !isActive()) {
    abort()
    return { signal: controller.signal, stop: noop }
  }
  gaveUp.addEventListener('abort', abort, { once: true })
  const timer = setInterval(() => {
    if (!isActive()) abort()
  }, ACTIVE_POLL_MS)
  timer.unref?.()
  return {
    signal: controller.signal,
    stop() {
      clearInterval(timer)
      gaveUp.removeEventListener('abort', abort)
    },
  }
}

/**
 * Runs one backend batch through a batch handler, in chunks of at most maxBatchSize records, one chunk at a time.
 * Never rejects: every failure becomes a retry, a dead letter or a stop.
 */
export async function runBatchHandler(
  ctx: BatchContext,
  decode: Decoder,
  route: BatchRoute,
  member: BackendConsumer,
  batch: PartitionBatch,
  track: (progress: Progress) => void,
): Promise<void> {
  const { records } = batch
  const size = route.maxBatchSize
  const state: ChunkState = { chunk: [], from: 0, prefixEnd: undefined }
  track({ inFlight: () => state.chunk.slice(state.from), prefixEnd: () => state.prefixEnd })
  for (let start = 0; start < records.length; start += size) {
    if (!batch.isActive() || ctx.stopping()) return
    state.chunk = start === 0 && records.length <= size ? records : records.slice(start, start + size)
    state.from = 0
    if (!(await runChunk(ctx, decode, route, member, batch, state))) return
  }
}

interface ChunkState {
  chunk: readonly IncomingRecord[]
  /** Index in chunk of the first record not finished. */
  from: number
  prefixEnd: IncomingRecord | undefined
}

/** One chunk: dead letters for records that do not decode, the handler with its retries, the commit. True to go on. */
async function runChunk(
  ctx: BatchContext,
  decode: Decoder,
  route: BatchRoute,
  member: BackendConsumer,
  batch: PartitionBatch,
  state: ChunkState,
): Promise<boolean> {
  const { chunk } = state
  const messages: Message<AnyTopic>[] = []
  /** Index in chunk of each message. */
  const at: number[] = []
  let stop: { index: number; failure: RecordFailure } | undefined
  for (let i = 0; i < chunk.length; i++) {
    const record = chunk[i]!
    try {
      const message = decode(record)
      messages.push(message instanceof Promise ? await message : message)
      at.push(i)
    } catch (error) {
      const failure = error instanceof RecordFailure ? error : new RecordFailure('deserialize', error)
      // Without a dead-letter topic the records before it are handled and committed, then the consumer stops on it.
      if (!ctx.deadLettering) {
        stop = { index: i, failure }
        break
      }
      if (!(await ctx.settle(record, failure, 1))) return false
    }
  }
  const end = stop ? stop.index : chunk.length

  /** Messages [0, done) are committed (batch.commit). */
  let done = 0
  let commits: Promise<void> = Promise.resolve()
  const { topic, partition } = batch
  const commit = (upTo: Message<AnyTopic>): Promise<void> => {
    const j =
      upTo && upTo.topic === topic && upTo.partition === partition
        ? messages.findIndex((m) => m.offset === upTo.offset)
        : -1
    if (j < 0) {
      const range = `${topic}[${partition}] offsets ${messages[0]?.offset}–${messages.at(-1)?.offset}`
      const given = upTo ? `${String(upTo.topic)}[${String(upTo.partition)}]@${String(upTo.offset)}` : String(upTo)
      return Promise.reject(
        new ConfigError(`batch.commit(upTo) takes a message of this batch (${range}); got ${given}.`),
      )
    }
    const run = commits.then(async () => {
      if (j < done) return
      // After a close gave up on this batch, a late commit could overwrite the next owner's position.
      if (ctx.abandoned()) throw new ClosedError('consumer (it gave up waiting for this batch)')
      const record = chunk[at[j]!]!
      await member.commit([{ topic, partition, offset: record.offset }])
      if (j >= done) {
        done = j + 1
        state.from = at[j]! + 1
        state.prefixEnd = record
      }
    })
    commits = run.catch(noop)
    return run
  }
  const isActive = () => batch.isActive() && !ctx.stopping()

  for (let attempt = 1; messages.length > 0; attempt++) {
    let watching: ReturnType<typeof watch> | undefined
    const view: MessageBatch<AnyTopic> = {
      topic,
      partition,
      messages: done === 0 ? messages : messages.slice(done),
      attempt,
      commit,
      isActive,
      get signal() {
        return (watching ??= watch(isActive, ctx.gaveUp)).signal
      },
      heartbeat: () => batch.heartbeat(),
    }
    let failed = false
    let error: unknown
    try {
      await route.handler(view)
    } catch (e) {
      failed = true
      error = e
    } finally {
      watching?.stop()
    }
    // Explicit commits the handler did not wait for count before deciding what is left.
    await commits
    if (!failed) break
    if (error instanceof LeftUnfinished) {
      // The finished prefix of a left batch is committed as a finished batch would be (with autoCommit: false, not).
      if (error.upTo && ctx.autoCommit) await commit(error.upTo).catch(noop)
      return false
    }
    if (done === messages.length) break // all committed before the throw: nothing is left to retry
    if (attempt >= ctx.retry.attempts) {
      const failure = new RecordFailure('handler', error)
      if (!ctx.deadLettering) {
        await ctx.settle(chunk[at[done]!]!, failure, attempt)
        return false
      }
      for (const i of at.slice(done)) if (!(await ctx.settle(chunk[i]!, failure, attempt))) return false
      break
    }
    await backoff(ctx.retry, attempt, isActive)
    await batch.heartbeat().catch(noop)
    if (!isActive()) return false
  }
  if (end > 0) {
    const last = chunk[end - 1]!
    if (ctx.autoCommit && !ctx.abandoned()) await ctx.commitAfter(member, last)
    state.prefixEnd = last
    state.from = end
  }
  if (stop) {
    await ctx.settle(chunk[stop.index]!, stop.failure, 1)
    return false
  }
  return true
}
