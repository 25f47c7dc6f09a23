import type { IncomingRecord, PartitionBatch } from '../backend/contract.js'
import { sleep } from '../sleep.js'

/** What the scheduler needs from the consumer. */
export interface SchedulerHooks {
  /**
   * Handles one record (decode, handler, retries, dead letter). Resolves true when the record is done, false when it
   * must stay unfinished (the consumer is stopping or the partition was lost). `pause` is how a retry waits its
   * backoff: it gives the slot to other keys meanwhile. Never rejects.
   */
  run(record: IncomingRecord, batch: PartitionBatch, pause: (ms: number) => Promise<void>): Promise<boolean>
  /** False once no record may start any more (the consumer is stopping). */
  open(): boolean
}

/** One batch in the scheduler: which of its records finished, and the end of its contiguous finished prefix. */
export interface ScheduledBatch {
  /** Settles once none of the batch's records runs and no more will start: with the last record of the finished prefix. */
  readonly done: Promise<IncomingRecord | undefined>
  /** Records whose handling started and has not ended. */
  inFlight(): IncomingRecord[]
  /** The last record of the contiguous finished prefix: the only safe commit position. */
  prefixEnd(): IncomingRecord | undefined
  /** Records that finished past the contiguous prefix (keys finish out of order). */
  finishedPastPrefix(): IncomingRecord[]
}

/** Records of one key of one batch, handled one at a time in offset order. */
interface Lane {
  readonly job: Job
  readonly key: string | undefined
  /** Indexes into the batch, ascending. */
  readonly queue: number[]
  head: number
  running: boolean
}

class Job implements ScheduledBatch {
  readonly done: Promise<IncomingRecord | undefined>
  readonly lanes = new Map<string, Lane>()
  readonly finished: Uint8Array
  readonly running = new Set<number>()
  /** Records [0, prefix) finished. */
  prefix = 0
  admitted = 0
  started = 0
  stopped = false
  settled = false
  resolve!: (last: IncomingRecord | undefined) => void

  constructor(
    readonly batch: PartitionBatch,
    readonly keylessUnordered: boolean,
  ) {
    this.finished = new Uint8Array(batch.records.length)
    this.done = new Promise((resolve) => (this.resolve = resolve))
  }

  inFlight(): IncomingRecord[] {
    return [...this.running].sort((a, b) => a - b).map((i) => this.batch.records[i]!)
  }

  prefixEnd(): IncomingRecord | undefined {
    return this.prefix > 0 ? this.batch.records[this.prefix - 1] : undefined
  }

  finishedPastPrefix(): IncomingRecord[] {
    return this.batch.records.filter((_, i) => i > this.prefix && this.finished[i] === 1)
  }
}

/**
 * Runs records of different keys concurrently, up to `concurrency` in flight, and records of one key one at a time in
 * offset order (keys are scoped to their topic and partition). At most `maxBuffered` records wait accepted but not
 * started; a batch that does not fit is taken in as room frees, and its onBatch call (so its partition's fetching)
 * waits meanwhile. A batch is done when every record finished, or when it stopped (its partition lost, the consumer
 * stopping, a record left unfinished): then unstarted records are dropped and the ones in flight are awaited.
 */
export class KeyScheduler {
  private inFlight = 0
  private buffered = 0
  /** Lanes whose head record may start. */
  private readonly ready: Lane[] = []
  private readyHead = 0
  /** Batches with records not yet taken in for lack of room, in arrival order. */
  private readonly admitting: Job[] = []
  /** Retries that waited their backoff and want a slot back: they go before new records. */
  private readonly resuming: Array<() => void> = []

  constructor(
    private readonly concurrency: number,
    private readonly maxBuffered: number,
    private readonly hooks: SchedulerHooks,
  ) {}

  /** Records accepted and not started. */
  get waiting(): number {
    return this.buffered
  }

  /** Records holding a slot (a retry waiting its backoff holds none). */
  get running(): number {
    return this.inFlight
  }

  submit(batch: PartitionBatch, keylessUnordered: boolean): ScheduledBatch {
    const job = new Job(batch, keylessUnordered)
    if (batch.records.length === 0) this.settle(job)
    else {
      this.admitting.push(job)
      this.admit()
      this.pump()
    }
    return job
  }

  /** Takes in waiting records, in batch arrival order, while the buffer has room. */
  private admit(): void {
    while (this.admitting.length > 0 && this.buffered < this.maxBuffered) {
      const job = this.admitting[0]!
      const records = job.batch.records
      while (job.admitted < records.length && this.buffered < this.maxBuffered) {
        const index = job.admitted++
        this.buffered++
        const key = records[index]!.key
        if (key === null && job.keylessUnordered) {
          this.ready.push({ job, key: undefined, queue: [index], head: 0, running: false })
          continue
        }
        // Keys compare as bytes; latin1 maps each byte to one char, so distinct bytes stay distinct.
        const id = key === null ? '' : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
        let lane = job.lanes.get(id)
        if (!lane) {
          lane = { job, key: id, queue: [], head: 0, running: false }
          job.lanes.set(id, lane)
        }
        lane.queue.push(index)
        if (!lane.running && lane.head === lane.queue.length - 1) this.ready.push(lane)
      }
      if (job.admitted === records.length) this.admitting.shift()
    }
  }

  /** Starts records while slots are free: resumed retries first, then ready lanes in the order they became ready. */
  private pump(): void {
    while (this.inFlight < this.concurrency) {
      const resume = this.resuming.shift()
      if (resume) {
        this.inFlight++
        resume()
        continue
      }
      if (this.readyHead === this.ready.length) break
      const lane = this.ready[this.readyHead++]!
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead)
        this.readyHead = 0
      }
      const { job } = lane
      if (job.stopped) continue
      if (!this.hooks.open() || !job.batch.isActive()) {
        this.stop(job)
        continue
      }
      this.start(lane)
    }
  }

  private start(lane: Lane): void {
    const { job } = lane
    const index = lane.queue[lane.head++]!
    lane.running = true
    job.started++
    job.running.add(index)
    this.buffered--
    this.inFlight++
    let holdsSlot = true
    const pause = async (ms: number) => {
      if (holdsSlot) {
        holdsSlot = false
        this.release()
      }
      await sleep(ms)
      await new Promise<void>((resolve) => {
        this.resuming.push(resolve)
        this.pump()
      })
      holdsSlot = true
    }
    const finish = (done: boolean) => {
      job.running.delete(index)
      lane.running = false
      if (holdsSlot) this.inFlight--
      if (done) {
        job.finished[index] = 1
        while (job.prefix < job.finished.length && job.finished[job.prefix] === 1) job.prefix++
      } else this.stop(job)
      if (!job.stopped && lane.head < lane.queue.length) this.ready.push(lane)
      else if (lane.key !== undefined && lane.head === lane.queue.length) job.lanes.delete(lane.key)
      if (job.running.size === 0 && (job.stopped || job.prefix === job.finished.length)) this.settle(job)
      this.admit()
      this.pump()
    }
    this.hooks.run(job.batch.records[index]!, job.batch, pause).then(finish, () => finish(false))
  }

  private release(): void {
    this.inFlight--
    this.pump()
  }

  /** No more records of this batch start; those not started leave the buffer. */
  private stop(job: Job): void {
    if (job.stopped) return
    job.stopped = true
    this.buffered -= job.admitted - job.started
    job.admitted = job.started
    const waiting = this.admitting.indexOf(job)
    if (waiting >= 0) this.admitting.splice(waiting, 1)
    this.admit()
    if (job.running.size === 0) this.settle(job)
  }

  private settle(job: Job): void {
    if (job.settled) return
    job.settled = true
    job.resolve(job.prefixEnd())
  }
}
