import type { KeyedAbortSignal } from './signal.js'
import type { BackendProducer, OutgoingRecord, RecordMetadata } from './backend/contract.js'
import { onAbort } from './abort.js'
import { recordBytes } from './prepare.js'
import { AbortError, isKeyedError, RecordTooLargeError, SendAbortedError, TimeoutError } from './errors.js'

/** The records of one send() call, validated and serialized, with what the accumulator needs to batch them. */
export interface PreparedCall {
  readonly records: OutgoingRecord[]
  /** Estimated size on the wire, for maxQueuedBytes and batch.maxBytes. */
  readonly bytes: number
  /** The most bytes a request holding this call may carry (the topic's declared max.message.bytes), if lower than batch.maxBytes. */
  readonly maxRequestBytes: number | undefined
}

export interface AccumulatorLimits {
  readonly lingerMs: number
  readonly maxRecords: number
  readonly maxBytes: number
  readonly maxQueuedBytes: number
  readonly maxBlockMs: number
  readonly maxInFlight: number
}

const enum State {
  Preparing,
  WaitingForRoom,
  Ready,
  Sent,
  Done,
}

/** One send() call in line. A class, so every call has one shape and no closure of its own; kept small, as every
 * call waiting behind a request in flight holds one. */
class Call {
  state = State.Preparing
  /**
   * The record of a single-record call, the records of any other; kept until settled: a request refused as too large
   * is sent again call by call.
   */
  records: OutgoingRecord | OutgoingRecord[] | undefined = undefined
  /** Goes in a request of its own (its merged request was too large). */
  alone = false
  count = 0
  bytes = 0
  maxRequestBytes: number | undefined = undefined
  /** When it became ready, for lingerMs. */
  readyAt = 0
  /**
   * Settles the call's promise. A failure goes through it too, as a rejected promise, so the promise's reject
   * function need not be kept.
   */
  settle: (outcome: RecordMetadata | RecordMetadata[] | Promise<never>) => void = noop
  /** The maxBlockMs timer and the abort listener, which few calls have. */
  extra: { timer?: ReturnType<typeof setTimeout>; unlisten?: () => void } | undefined = undefined
  constructor(
    /** Position in call order. */
    readonly seq: number,
    /** send(topic, record): resolves with one metadata, and holds its record unwrapped. */
    readonly single: boolean,
  ) {}
}

const noop = () => {}

/** Stands in the line for a call that left it, so the line keeps no reference to it. */
const SENT_OR_DONE = new Call(0, true)
SENT_OR_DONE.state = State.Done

/** The call whose promise is being made: one executor shared by every call stores its settle function in it. */
let capturing: Call | undefined
function capture(resolve: (outcome: RecordMetadata | RecordMetadata[] | Promise<never>) => void) {
  capturing!.settle = resolve
}

/**
 * The producer's record accumulator: calls join one FIFO line in the order send() was called; one sender drains
 * every ready call from the head (bounded by batch.maxRecords / batch.maxBytes, never splitting a call) into one
 * backend request as soon as a request slot is free (one slot under the default maxInFlight 1).
 * A failed request rejects its calls, and every call still in line behind it, so no record issued after a failed one
 * can land before its caller saw the failure.
 */
export class Accumulator {
  private line: Call[] = []
  private head = 0
  /** Bytes of calls admitted and not yet settled (queued or in flight), bounded by maxQueuedBytes. */
  private queuedBytes = 0
  /**
   * Where admission is in the line: calls before it were admitted (or settled); from it on they wait, in line order,
   * to be prepared or for room. Room is given in call order, so a call prepared late never finds its room taken by a
   * later call that cannot be sent before it.
   */
  private admitAt = 0
  private inFlight = 0
  private drainScheduled = false
  private lingerTimer: NodeJS.Timeout | undefined
  /** Requests in flight, each the calls it carries in call order; a staged one among them. */
  private readonly requests = new Set<Call[]>()
  /** The request handed to the backend's sendAfter behind the one in flight, written once that one succeeded. */
  private staged: Call[] | undefined
  /** The backend's promise for the request handed over last: the one a staged request waits for. */
  private lastRequest: Promise<RecordMetadata[]> | undefined
  /** Calls made and not settled yet. */
  private unsettled = 0
  private seq = 0
  private flushWaiters: { lastSeq: number; resolve: () => void }[] = []
  /** Set by flush() and close(): ready calls go out without lingering. */
  private urgent = false
  /** An appendNow that failed in this turn: the calls made after it in the turn are aborted. */
  private stoppedBy: unknown = undefined

  constructor(
    private readonly limits: AccumulatorLimits,
    private readonly backend: () => BackendProducer,
    /** Called each time a request leaves, before it is sent (sticky keyless placement moves on per request). */
    private readonly onRequest: () => void,
  ) {}

  /**
   * Takes a place in line now; the call is sent once prepared (in line order), or rejected alone if preparing fails.
   * A backend that appends in the process (appendNow) gets the call at once while nothing is queued or in flight.
   */
  add(
    prepared: PreparedCall | Promise<PreparedCall>,
    single: boolean,
    signal?: KeyedAbortSignal,
  ): Promise<RecordMetadata | RecordMetadata[]> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    if (this.stoppedBy !== undefined) return Promise.reject(new SendAbortedError(this.stoppedBy))
    if (!(prepared instanceof Promise) && this.appendsNow())
      return this.appendNow(prepared.records, prepared.bytes, single)
    const call = new Call(++this.seq, single)
    const promise = this.enqueue(call, signal)
    if (prepared instanceof Promise) {
      prepared.then(
        (p) => this.admit(call, single ? p.records[0] : p.records, p.records.length, p.bytes, p.maxRequestBytes),
        (error: unknown) => this.failAlone(call, error),
      )
    } else {
      this.admit(
        call,
        single ? prepared.records[0] : prepared.records,
        prepared.records.length,
        prepared.bytes,
        prepared.maxRequestBytes,
      )
    }
    return promise
  }

  /**
   * add() for one record given unwrapped and prepared at once, the call concurrent callers make: no PreparedCall or
   * array is made for it.
   */
  addOne(
    record: OutgoingRecord,
    maxRequestBytes: number | undefined,
    signal?: KeyedAbortSignal,
  ): Promise<RecordMetadata> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    if (this.stoppedBy !== undefined) return Promise.reject(new SendAbortedError(this.stoppedBy))
    const bytes = recordBytes(record)
    if (this.appendsNow()) {
      const producer = this.backend()
      if (!producer.appendOne) return this.appendNow([record], bytes, true) as Promise<RecordMetadata>
      if (bytes > this.limits.maxQueuedBytes) return Promise.reject(this.tooLarge(record.topic, bytes))
      this.onRequest()
      try {
        return Promise.resolve(producer.appendOne(record))
      } catch (error) {
        return this.stop(error)
      }
    }
    const call = new Call(++this.seq, true)
    const promise = this.enqueue(call, signal) as Promise<RecordMetadata>
    this.admit(call, record, 1, bytes, maxRequestBytes)
    return promise
  }

  /** Nothing is queued or in flight, no linger is asked for, and the backend appends in the process. */
  private appendsNow(): boolean {
    return this.unsettled === 0 && this.limits.lingerMs === 0 && this.backend().appendNow !== undefined
  }

  /** Puts the call at the end of the line and makes its promise. */
  private enqueue(call: Call, signal: KeyedAbortSignal | undefined): Promise<RecordMetadata | RecordMetadata[]> {
    capturing = call
    const promise = new Promise<RecordMetadata | RecordMetadata[]>(capture)
    capturing = undefined
    this.line.push(call)
    this.unsettled++
    if (signal) call.extra = { unlisten: onAbort(signal, () => this.abort(call, signal)) }
    return promise
  }

  /**
   * The call is its own request, appended before add() returns: nothing waits, so nothing is kept. If it fails, the
   * calls made after it in the same turn are aborted, as calls queued behind a failed request are: none of them may
   * land before the caller could see the failure.
   */
  private appendNow(
    records: readonly OutgoingRecord[],
    bytes: number,
    single: boolean,
  ): Promise<RecordMetadata | RecordMetadata[]> {
    if (bytes > this.limits.maxQueuedBytes) return Promise.reject(this.tooLarge(records[0]?.topic, bytes))
    this.onRequest()
    let metadata: RecordMetadata[]
    try {
      metadata = this.backend().appendNow!(records)
    } catch (error) {
      return this.stop(error)
    }
    return Promise.resolve(single ? metadata[0]! : metadata)
  }

  /** An in-process append failed: the calls made after it in this turn are aborted (see appendNow). */
  private stop(error: unknown): Promise<never> {
    this.stoppedBy = error
    queueMicrotask(() => (this.stoppedBy = undefined))
    return Promise.reject(error as Error)
  }

  /** Resolves once every call made before it has settled (sent and acknowledged, or failed). */
  flush(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve()
    this.urgent = true
    this.schedule()
    return new Promise((resolve) => this.flushWaiters.push({ lastSeq: this.seq, resolve }))
  }

  /**
   * close() gave up waiting: calls not yet handed to the backend reject with `queued` (nothing of them was sent), calls
   * in flight with `inFlight` (their records may still land); whatever the backend answers later is ignored.
   */
  abandon(queued: unknown, inFlight: unknown): void {
    this.failQueued(queued)
    for (const batch of this.requests) for (const call of batch) this.settleFailed(call, inFlight)
    this.requests.clear()
    this.inFlight = 0
    this.staged = undefined
    this.afterSettle()
  }

  /**
   * An aborted call leaves the line if it is still only queued (preparing, waiting for room, or ready): nothing of it
   * was sent, and the calls around it go on. Once its request left it cannot be recalled: it settles as the request does.
   */
  private abort(call: Call, signal: KeyedAbortSignal): void {
    if (call.state === State.Sent || call.state === State.Done) return
    this.failAlone(call, abortError(signal))
  }

  private admit(
    call: Call,
    records: OutgoingRecord | OutgoingRecord[] | undefined,
    count: number,
    bytes: number,
    maxRequestBytes: number | undefined,
  ): void {
    if (call.state === State.Done) return // an earlier request failed while this call was being prepared
    call.records = records
    call.count = count
    call.bytes = bytes
    call.maxRequestBytes = maxRequestBytes
    if (bytes > this.limits.maxQueuedBytes) {
      const topic =
        count === 0
          ? undefined
          : call.single
            ? (records as OutgoingRecord).topic
            : (records as OutgoingRecord[])[0]!.topic
      this.failAlone(call, this.tooLarge(topic, bytes))
      return
    }
    call.state = State.WaitingForRoom
    this.admitWaiting()
    if (call.state !== State.WaitingForRoom) return
    // Behind a call still being prepared, or short of room: maxBlockMs bounds the wait.
    ;(call.extra ??= {}).timer = setTimeout(
      () =>
        this.failAlone(
          call,
          new TimeoutError(
            'A send waiting for room in the producer queue',
            this.limits.maxBlockMs,
            `The queue held maxQueuedBytes (${this.limits.maxQueuedBytes}) of records the backend had not acknowledged yet, or an earlier call was still being validated: the backend is slower than the sends. Nothing of this call was sent; send it again later, or raise maxQueuedBytes / maxBlockMs.`,
          ),
        ),
      this.limits.maxBlockMs,
    )
  }

  private tooLarge(topic: string | undefined, bytes: number): RecordTooLargeError {
    return new RecordTooLargeError(
      topic ?? '?',
      `the call holds about ${bytes} bytes, more than the producer's maxQueuedBytes (${this.limits.maxQueuedBytes}); raise maxQueuedBytes or send fewer records per call`,
    )
  }

  private ready(call: Call): void {
    this.queuedBytes += call.bytes
    call.state = State.Ready
    call.readyAt = this.limits.lingerMs > 0 ? Date.now() : 0
    this.schedule()
  }

  /** Admits prepared calls in line order while there is room; stops at a call still being prepared. */
  private admitWaiting(): void {
    if (this.admitAt < this.head) this.admitAt = this.head
    for (; this.admitAt < this.line.length; this.admitAt++) {
      const call = this.line[this.admitAt]!
      if (call.state === State.Preparing) break
      if (call.state !== State.WaitingForRoom) continue // settled meanwhile, or admitted already
      if (this.queuedBytes + call.bytes > this.limits.maxQueuedBytes) break
      clearTimeout(call.extra?.timer)
      this.ready(call)
    }
  }

  private schedule(): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    // A microtask, not now: every call made in the same turn joins the first request.
    queueMicrotask(() => {
      this.drainScheduled = false
      this.drain()
    })
  }

  private drain(): void {
    for (;;) {
      // With every slot taken, a full next request can still be staged behind the one in flight (sendAfter).
      const stage = this.inFlight >= this.limits.maxInFlight
      if (stage && !this.canStage()) break
      while (this.head < this.line.length && this.line[this.head]!.state === State.Done) this.head++
      const first = this.line[this.head]
      if (first === undefined || first.state !== State.Ready) break
      const batch: Call[] = []
      let records = 0
      let bytes = 0
      let maxBytes = this.limits.maxBytes
      let i = this.head
      for (; i < this.line.length; i++) {
        const call = this.line[i]!
        if (call.state === State.Done) continue
        if (call.state !== State.Ready) break
        const limit = Math.min(maxBytes, call.maxRequestBytes ?? maxBytes)
        // A call is never split; one larger than the limits goes alone.
        if (
          batch.length > 0 &&
          (call.alone || batch[0]!.alone || records + call.count > this.limits.maxRecords || bytes + call.bytes > limit)
        )
          break
        batch.push(call)
        records += call.count
        bytes += call.bytes
        maxBytes = limit
      }
      const full = i < this.line.length && this.line[i]!.state === State.Ready
      // Only a full request is staged: one composed later could carry more calls.
      if (stage && !full) break
      if (!this.urgent && !full && this.limits.lingerMs > 0) {
        const wait = first.readyAt + this.limits.lingerMs - Date.now()
        if (wait > 0) {
          this.lingerTimer ??= setTimeout(() => {
            this.lingerTimer = undefined
            this.drain()
          }, wait)
          return
        }
      }
      // Sent calls leave the line now, so it holds no reference to them or their records.
      for (let k = this.head; k < i; k++) this.line[k] = SENT_OR_DONE
      this.head = i
      this.compact()
      this.send(batch, records, stage)
    }
  }

  /** One request in flight under maxInFlight 1, none staged behind it yet, and a backend that can take one. */
  private canStage(): boolean {
    return (
      this.limits.maxInFlight === 1 &&
      this.inFlight === 1 &&
      this.staged === undefined &&
      this.backend().sendAfter !== undefined
    )
  }

  private send(batch: Call[], count: number, stage: boolean): void {
    let records: OutgoingRecord[]
    if (batch.length === 1) {
      const call = batch[0]!
      records = call.single ? [call.records as OutgoingRecord] : (call.records as OutgoingRecord[])
    } else {
      records = new Array<OutgoingRecord>(count)
      let n = 0
      for (const call of batch) {
        if (call.single) records[n++] = call.records as OutgoingRecord
        else for (const r of call.records as OutgoingRecord[]) records[n++] = r
      }
    }
    for (const call of batch) call.state = State.Sent
    this.requests.add(batch)
    this.inFlight++
    this.onRequest()
    let request: Promise<RecordMetadata[]>
    try {
      const producer = this.backend()
      request = stage ? producer.sendAfter!(records, this.lastRequest!) : producer.send(records)
      this.lastRequest = request
      if (stage) this.staged = batch
    } catch (error) {
      // A request staged behind this one must see it fail, not the one before it succeed.
      this.lastRequest = Promise.reject(error as Error)
      this.lastRequest.catch(() => undefined)
      // A backend that throws instead of rejecting fails this request like any other failure, a turn later.
      queueMicrotask(() => this.failed(batch, error))
      return
    }
    request.then(
      (metadata) => this.succeeded(batch, metadata),
      (error: unknown) => this.failed(batch, error),
    )
  }

  private succeeded(batch: Call[], metadata: RecordMetadata[]): void {
    if (!this.requests.delete(batch)) return // a staged request whose predecessor failed: its calls were settled then
    this.inFlight--
    // The request staged behind this one is now the one in flight.
    this.staged = undefined
    for (const call of batch) {
      this.release(call)
      call.state = State.Done
      call.records = undefined
      call.extra?.unlisten?.()
      this.unsettled--
    }
    // The next request leaves before the callers' continuations run, so the backend works while they do.
    this.admitWaiting()
    this.drain()
    let offset = 0
    for (const call of batch) {
      call.settle(call.single ? metadata[offset]! : metadata.slice(offset, offset + call.count))
      offset += call.count
    }
    this.afterSettle()
  }

  private failed(batch: Call[], error: unknown): void {
    if (!this.requests.delete(batch)) return // a staged request whose predecessor failed: its calls were settled then
    this.inFlight--
    // A request staged behind this one writes nothing now (sendAfter): its calls are settled here, with the rest.
    const behind = this.staged !== batch ? this.staged : undefined
    this.staged = undefined
    if (behind) {
      this.requests.delete(behind)
      this.inFlight--
    }
    if (batch.length > 1 && isKeyedError(error, 'RECORD_TOO_LARGE') && (error as RecordTooLargeError).nothingSent) {
      // Calls merged into one request made it too large, and nothing of it was written (a size check refused it
      // before it left): each call goes again alone, ahead of everything queued, so order holds. A server's
      // refusal of part of a request may have written the rest: resending it would duplicate, so it fails below.
      for (const call of batch) {
        call.state = State.Ready
        call.alone = true
      }
      for (const call of behind ?? []) call.state = State.Ready
      const back = batch.length + (behind?.length ?? 0)
      this.admitAt = Math.max(this.admitAt, this.head) - this.head + back
      this.line = [...batch, ...(behind ?? []), ...this.line.slice(this.head)]
      this.head = 0
      this.schedule()
      return
    }
    for (const call of batch) this.settleFailed(call, error)
    // Everything still in line was issued after the failed records: none of it may land before its caller knows.
    const aborted = new SendAbortedError(error)
    for (const call of behind ?? []) this.settleFailed(call, aborted)
    this.failQueued(aborted)
    this.afterSettle()
  }

  private failAlone(call: Call, error: unknown): void {
    this.settleFailed(call, error)
    this.afterSettle()
  }

  private settleFailed(call: Call, error: unknown): void {
    if (call.state === State.Done) return
    if (call.state === State.WaitingForRoom) {
      clearTimeout(call.extra?.timer)
    } else if (call.state === State.Ready || call.state === State.Sent) {
      this.release(call)
    }
    call.state = State.Done
    call.records = undefined
    call.extra?.unlisten?.()
    this.unsettled--
    call.settle(Promise.reject(error as Error))
  }

  private release(call: Call): void {
    this.queuedBytes -= call.bytes
  }

  private afterSettle(): void {
    this.admitWaiting()
    if (this.flushWaiters.length > 0) {
      const oldest = this.oldestUnsettled()
      this.flushWaiters = this.flushWaiters.filter((w) => {
        if (oldest <= w.lastSeq) return true
        w.resolve()
        return false
      })
    }
    if (this.flushWaiters.length === 0) this.urgent = false
    this.schedule()
  }

  /** Rejects every call still in line: all unsettled calls are there except those of requests in flight. */
  private failQueued(error: unknown): void {
    for (let i = this.head; i < this.line.length; i++) this.settleFailed(this.line[i]!, error)
    this.head = this.line.length
    this.compact()
  }

  /** The seq of the oldest call not settled, Infinity when none. */
  private oldestUnsettled(): number {
    let oldest = Infinity
    for (const batch of this.requests) oldest = Math.min(oldest, batch[0]!.seq)
    // Settled calls at the head are passed for good (drain skips them too), so many settling calls cost no rescans.
    while (this.head < this.line.length && this.line[this.head]!.state === State.Done) this.head++
    const call = this.line[this.head]
    return call === undefined ? oldest : Math.min(oldest, call.seq)
  }

  /** Drops the settled prefix of the line once it is large, so the array does not grow without bound. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line = this.line.slice(this.head)
      this.admitAt = Math.max(0, this.admitAt - this.head)
      this.head = 0
    }
  }
}

const abortError = (signal: KeyedAbortSignal) =>
  new AbortError('A send', signal.reason, 'It was still queued, so nothing of it was sent.')
