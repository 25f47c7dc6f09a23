import { checkSignal, onAbort } from '../abort.js'
import { AbortError } from '../errors.js'
import type { AnyTopic } from '../topic.js'
import { LeftUnfinished } from './batch-handler.js'
import type { BatchHandler, MessageBatch, MessagesOptions } from './batch-types.js'
import type { Message } from './types.js'

/** What the iterator needs of its consumer. */
export interface IterationHost<T extends AnyTopic> {
  /** Subscribes the topic with this batch handler (the iterator's one subscription); resolves once joined. */
  subscribe(handler: BatchHandler<T>, options: MessagesOptions): Promise<void>
  close(): Promise<void>
  stopped(): Promise<void>
}

/** One partition's batch waiting in the iterator; its handler call settles once the loop finished it or left it. */
interface Entry<T extends AnyTopic> {
  readonly batch: MessageBatch<T>
  /** Index of the next message to yield. */
  next: number
  settled: boolean
  readonly resolve: () => void
  readonly reject: (reason: LeftUnfinished) => void
}

/** How often batches waiting in the iterator are checked for a lost partition, so a rebalance is not held up by them. */
const EVICT_POLL_MS = 100

/**
 * `for await (const msg of consumer.messages(topic))`. It owns a batch subscription of the topic: each partition's
 * batch waits here until the loop took all of it, so nothing more is fetched than the loop consumes (at most one batch
 * per owned partition is buffered). A message counts as finished when the loop asks for the next one; a batch is
 * committed once all of its messages finished. Leaving the loop (break, return, throw) or aborting the signal commits
 * the finished prefix of each batch, leaves the message the body held and everything after it uncommitted, and closes
 * the consumer. A batch of a partition this member lost is dropped without yielding more of it.
 */
export class MessageIterator<T extends AnyTopic> implements AsyncIterableIterator<Message<T>> {
  private queue: Entry<T>[] = []
  /** The entry of the message the loop body holds: yielded, not finished. */
  private holding: Entry<T> | undefined
  private ended: { error: unknown; reported: boolean } | undefined
  private waiters: Array<() => void> = []
  private readonly joined: Promise<void>
  private timer: NodeJS.Timeout | undefined
  private closing: Promise<void> | undefined
  private readonly unlisten: () => void

  constructor(
    private readonly host: IterationHost<T>,
    options: MessagesOptions,
  ) {
    const signal = checkSignal(options.signal, 'messages()')
    const aborted = () =>
      new AbortError(
        'The message loop',
        signal?.reason,
        'The message the loop was handling and those after it stay uncommitted; the consumer was closed.',
      )
    if (signal?.aborted) {
      this.ended = { error: aborted(), reported: false }
      this.joined = Promise.resolve()
      this.unlisten = () => {}
      return
    }
    this.joined = host.subscribe((batch) => this.take(batch), options)
    this.joined.catch((error: unknown) => this.end(error))
    host.stopped().then(
      () => this.end(undefined),
      (error: unknown) => this.end(error),
    )
    this.unlisten = onAbort(signal, () => {
      this.end(aborted())
      this.close().catch(() => undefined)
    })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Message<T>, undefined>> {
    await this.joined.catch(() => undefined)
    // The loop asks for the next message: the one it held is finished.
    this.finishHeld()
    for (;;) {
      if (this.ended) {
        const { error } = this.ended
        if (error !== undefined && !this.ended.reported) {
          this.ended.reported = true
          throw error
        }
        return { done: true, value: undefined }
      }
      const head = this.queue[0]
      if (!head) {
        await new Promise<void>((resolve) => this.waiters.push(resolve))
        continue
      }
      if (!head.batch.isActive()) {
        this.leave(head)
        continue
      }
      this.holding = head
      return { done: false, value: head.batch.messages[head.next++]! }
    }
  }

  /** Leaving the loop: the held message stays unfinished; the consumer closes (its outcome is this call's). */
  async return(): Promise<IteratorResult<Message<T>, undefined>> {
    this.end(undefined)
    await this.close()
    return { done: true, value: undefined }
  }

  private close(): Promise<void> {
    return (this.closing ??= this.host.close())
  }

  private take(batch: MessageBatch<T>): Promise<void> {
    if (this.ended) return Promise.reject(new LeftUnfinished())
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, next: 0, settled: false, resolve, reject })
      this.timer ??= setInterval(() => this.evictLost(), EVICT_POLL_MS)
      this.wake()
    })
  }

  private finishHeld(): void {
    const entry = this.holding
    this.holding = undefined
    if (!entry || entry.settled || entry.next < entry.batch.messages.length) return
    // Every message of the batch finished: its handler call resolves and the batch runner commits it.
    this.remove(entry)
    entry.settled = true
    entry.resolve()
  }

  /** Stops yielding this batch: what finished of it is committed, the rest stays uncommitted. */
  private leave(entry: Entry<T>): void {
    if (entry.settled) return
    this.remove(entry)
    entry.settled = true
    const finished = entry === this.holding ? entry.next - 1 : entry.next
    entry.reject(new LeftUnfinished(finished > 0 ? entry.batch.messages[finished - 1] : undefined))
  }

  private remove(entry: Entry<T>): void {
    const i = this.queue.indexOf(entry)
    if (i >= 0) this.queue.splice(i, 1)
    if (this.queue.length === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  /** Batches of partitions this member lost leave the buffer now, so the rebalance need not wait for the loop. */
  private evictLost(): void {
    for (const entry of [...this.queue]) if (entry !== this.holding && !entry.batch.isActive()) this.leave(entry)
  }

  private end(error: unknown): void {
    if (this.ended) return
    this.ended = { error, reported: false }
    for (const entry of [...this.queue]) this.leave(entry)
    this.holding = undefined
    this.unlisten()
    this.wake()
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}
