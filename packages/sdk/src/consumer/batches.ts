import type { BackendConsumer, IncomingRecord, PartitionBatch } from '../backend/contract.js'
import { BackendUnavailableError, DeadLetterError, HandlerError, isKeyedError, type KeyedError } from '../errors.js'
import type { AnyTopic } from '../topic.js'
import { runBatchHandler, type BatchContext, type BatchRoute, type Progress } from './batch-handler.js'
import type { PartitionControl, Flight } from './control.js'
import type { DeadLetters } from './dead-letter.js'
import { RecordFailure, type Decoder } from './decode.js'
import { retry } from './retry.js'
import { KeyScheduler } from './scheduler.js'
import type { ConsumerTelemetry, RecordObservation } from '../telemetry/hooks.js'
import type { ConsumerSettings, RunSettings } from './settings.js'
import type { Handler, Message } from './types.js'

export interface Route {
  readonly topic: AnyTopic
  readonly handler: Handler<AnyTopic>
  readonly decode: Decoder
  readonly fromBeginning: boolean
  /** A subscribe() override of the consumer's concurrency and ordering. */
  readonly run: RunSettings | undefined
  /** Set for subscribeBatch(): the batch handler replaces the per-record one. */
  readonly batch?: BatchRoute
}

/** What the batch runner needs from its consumer. */
export interface BatchHost {
  route(topic: string): Route | undefined
  /** Set once the consumer stops on an error: nothing more starts. */
  failed(): boolean
  /** Stops the consumer with this error (the first one wins). */
  fail(error: KeyedError): void
  readonly backendName: string
  readonly deadLetters: DeadLetters | undefined
  /** Spans and metrics of the records handled; undefined without OpenTelemetry. */
  readonly telemetry: ConsumerTelemetry | undefined
}

/** Where BatchRunner.synchronously() stopped, and what the record it stopped at waits for or threw. */
interface Step {
  state: 'decoding' | 'handling' | 'failed' | 'inactive' | 'done'
  pending: unknown
}

/** One onBatch call in flight: what a close that gives up commits, and names in its error. */
interface Running {
  readonly member: BackendConsumer
  readonly batch: PartitionBatch
  readonly flight: Flight
  /** One at a time: the last record of the batch whose handling finished, and the one being handled. */
  last: IncomingRecord | undefined
  current: IncomingRecord | undefined
  /** With concurrency (the batch in the scheduler) or a batch handler: what is finished and what is not. */
  scheduled: Progress | undefined
  /** Lets the backend's onBatch return although a handler has not settled (close timed out). */
  readonly release: () => void
}

/**
 * Handles the batches a backend hands over: one record at a time per partition, or through the key scheduler; each
 * record decoded, handled, retried, dead-lettered or stopping the consumer; the finished prefix committed.
 */
export class BatchRunner {
  private readonly running = new Set<Running>()
  private readonly scheduler: KeyScheduler | undefined
  /** Topics subscribed with their own concurrency: their scheduler, or undefined for one at a time. */
  private readonly ownSchedulers = new Map<string, KeyScheduler | undefined>()
  /** Set once the consumer's stop gave up waiting for handlers: nothing more starts or commits. */
  private abandoned = false
  private readonly gaveUp = new AbortController()
  private readonly batchContext: BatchContext

  constructor(
    private readonly host: BatchHost,
    private readonly settings: ConsumerSettings,
    private readonly control: PartitionControl,
  ) {
    this.scheduler = this.schedulerFor(settings)
    this.batchContext = {
      retry: settings.retry,
      autoCommit: settings.autoCommit,
      deadLettering: host.deadLetters !== undefined,
      stopping: () => this.stopping(),
      abandoned: () => this.abandoned,
      gaveUp: this.gaveUp.signal,
      commitAfter: (member, record) => this.commitAfter(member, record),
      settle: (record, failure, attempts) => this.settle(this.host.route(record.topic)!, record, failure, attempts),
    }
  }

  private schedulerFor(run: RunSettings): KeyScheduler | undefined {
    if (run.ordering !== 'key' || run.concurrency === 1) return undefined
    return new KeyScheduler(run.concurrency, run.maxBufferedRecords, {
      run: (record, batch, pause) => this.handle(this.host.route(record.topic)!, record, batch, pause),
      open: () => !this.stopping(),
    })
  }

  private schedulerOf(route: Route): KeyScheduler | undefined {
    if (!route.run) return this.scheduler
    const name = route.topic.name
    if (!this.ownSchedulers.has(name)) this.ownSchedulers.set(name, this.schedulerFor(route.run))
    return this.ownSchedulers.get(name)
  }

  /** Handles one partition's batch. Never rejects: every failure becomes a retry, a dead letter or a stop. */
  onBatch(member: BackendConsumer, batch: PartitionBatch): Promise<void> {
    const route = this.host.route(batch.topic)
    if (!route || this.stopping()) return Promise.resolve()
    this.host.telemetry?.received(batch.topic, batch.partition, batch.records.length)
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    // The handlers run on the control's copy of the batch, which pause() and seek() can cut short.
    const flight = this.control.begin(batch)
    const run: Running = {
      member,
      batch: flight.batch,
      flight,
      last: undefined,
      current: undefined,
      scheduled: undefined,
      release,
    }
    this.running.add(run)
    const scheduler = route.batch ? undefined : this.schedulerOf(route)
    const work = (
      route.batch
        ? this.observedBatch(route.batch, run.batch, (observed) =>
            runBatchHandler(this.batchContext, route.decode, observed, member, run.batch, (p) => (run.scheduled = p)),
          )
        : scheduler
          ? this.schedule(scheduler, route, run)
          : this.oneAtATime(route, run)
    )
      .then(() => {
        // Before the batch returns to the backend: a cut batch moves the backend's position (the contract's seek rule).
        if (!this.abandoned)
          this.control.end(
            flight,
            member,
            run.scheduled ? run.scheduled.prefixEnd() : run.last,
            run.scheduled?.finishedPastPrefix?.(),
          )
      })
      .finally(() => this.running.delete(run))
    return Promise.race([work, released])
  }

  /** A batch handler's batch inside one process span (when telemetry records it): each try runs in the span. */
  private async observedBatch(
    route: BatchRoute,
    batch: PartitionBatch,
    run: (route: BatchRoute) => Promise<void>,
  ): Promise<void> {
    const { telemetry } = this.host
    const observed = telemetry?.enabled()
      ? telemetry.processBatch(batch.topic, batch.partition, batch.records)
      : undefined
    if (!observed) return run(route)
    let failed: unknown
    const handler: BatchRoute['handler'] = async (view) => {
      try {
        await observed.run(route.handler, view)
      } catch (error) {
        observed.tryFailed((failed = error))
        throw error
      }
    }
    try {
      await run({ ...route, handler })
    } finally {
      // Dead letters let the batch go on; only a stop is the batch's failure.
      observed.end(this.host.failed() ? failed : undefined)
    }
  }

  /**
   * Stops waiting for handlers that did not settle: returns the records left unfinished at once, then commits each
   * batch's finished prefix and lets the batches return.
   */
  giveUp(): IncomingRecord[] {
    this.abandoned = true
    this.gaveUp.abort()
    const runs = [...this.running]
    const unfinished = runs.flatMap((run) =>
      run.scheduled ? run.scheduled.inFlight() : run.current ? [run.current] : [],
    )
    for (const run of runs) {
      const last = this.control.prefixEnd(run.flight, run.scheduled ? run.scheduled.prefixEnd() : run.last)
      if (!last || !this.settings.autoCommit) run.release()
      else
        void run.member
          .commit([{ topic: last.topic, partition: last.partition, offset: last.offset }])
          .catch(() => undefined)
          .finally(run.release)
    }
    return unfinished
  }

  private stopping(): boolean {
    return this.abandoned || this.host.failed()
  }

  private async oneAtATime(route: Route, run: Running): Promise<void> {
    // Asked once per batch: with nothing to record, the records take the path they take without telemetry.
    const telemetry = this.host.telemetry?.enabled() ? this.host.telemetry : undefined
    if (telemetry) return this.observedOneAtATime(route, run, telemetry)
    const { batch } = run
    const { records } = batch
    const step: Step = { state: 'done', pending: undefined }
    let last: IncomingRecord | undefined
    for (let i = 0; i < records.length; i++) {
      // The records whose decoding and handler complete synchronously run in a plain loop, so a batch costs no promise
      // per record (and the JIT optimizes that small loop, not all of this async function); this one goes on from the
      // first record that has to wait or failed.
      const from = i
      i = this.synchronously(route, batch, i, step)
      if (i > from) last = records[i - 1]
      if (step.state === 'done' || step.state === 'inactive') break
      const record = records[i]!
      // A close can only give up while this waits, so where it stands is written down only before an await.
      run.last = last
      run.current = record
      try {
        if (step.state === 'failed') throw step.pending
        if (step.state === 'decoding') {
          const result = route.handler(await (step.pending as Promise<Message<AnyTopic>>))
          if (result instanceof Promise) await result
        } else await step.pending
      } catch (error) {
        if (
          !(await this.recover(
            route,
            record,
            batch,
            error instanceof RecordFailure ? error : new RecordFailure('handler', error),
          ))
        )
          break
      } finally {
        step.pending = undefined
      }
      last = record
    }
    run.last = last
    run.current = undefined
    await this.finish(run, last)
  }

  /**
   * Handles records from `from` on for as long as decoding and the handler complete synchronously. Returns the index
   * of the record it stopped at, with `step` saying why: 'decoding' or 'handling' with the promise to wait for,
   * 'failed' with what was thrown, 'inactive' (the partition was lost or the consumer stops: that record does not
   * start), or 'done' past the last record.
   */
  private synchronously(route: Route, batch: PartitionBatch, from: number, step: Step): number {
    const { records } = batch
    const { decode, handler } = route
    for (let i = from; i < records.length; i++) {
      if (!batch.isActive() || this.stopping()) {
        step.state = 'inactive'
        return i
      }
      try {
        const message = decode(records[i]!)
        if (message instanceof Promise) {
          step.state = 'decoding'
          step.pending = message
          return i
        }
        const result = handler(message)
        if (result instanceof Promise) {
          step.state = 'handling'
          step.pending = result
          return i
        }
      } catch (error) {
        step.state = 'failed'
        step.pending = error
        return i
      }
    }
    step.state = 'done'
    return records.length
  }

  /** oneAtATime() with a span and metrics per record. */
  private async observedOneAtATime(route: Route, run: Running, telemetry: ConsumerTelemetry): Promise<void> {
    const { batch } = run
    const { decode, handler } = route
    let last: IncomingRecord | undefined
    for (const record of batch.records) {
      if (!batch.isActive() || this.stopping()) break
      const observed = telemetry.process(record)
      // The first try stays synchronous where decoding and the handler are, so a batch costs no promise per record.
      // A close can only give up while this waits, so where it stands is written down only before an await.
      try {
        let message = decode(record)
        if (message instanceof Promise) {
          run.last = last
          run.current = record
          message = await message
        }
        const result = observed ? observed.run(handler, message) : handler(message)
        if (result instanceof Promise) {
          run.last = last
          run.current = record
          await result
        }
        observed?.end()
      } catch (error) {
        run.last = last
        run.current = record
        if (
          !(await this.recover(
            route,
            record,
            batch,
            error instanceof RecordFailure ? error : new RecordFailure('handler', error),
            undefined,
            observed,
          ))
        )
          break
      }
      last = record
    }
    run.last = last
    run.current = undefined
    await this.finish(run, last)
  }

  /** Commits the batch's finished prefix. */
  private async finish(run: Running, handled: IncomingRecord | undefined): Promise<void> {
    // Records left out of the batch (they finished before a pause) count as finished.
    const last = this.control.prefixEnd(run.flight, handled)
    if (last && this.settings.autoCommit && !this.abandoned) await this.commitAfter(run.member, last)
  }

  /**
   * With per-key concurrency the batch goes to the scheduler, and this onBatch call settles only once none of its records
   * runs any more: settling is what lets the backend fetch further and also what lets it revoke the partition and hand
   * it to another member (memory and Redis release it, kafkajs rejoins, after the calls in flight returned). Settling
   * as soon as the records were accepted would let a rebalance move a partition while its records still run here, so
   * one key would run on two members at once, and a late commit could overwrite the new owner's. So concurrency spans
   * the keys of a batch and the partitions in flight, and the batch's finished prefix is committed once, at its end.
   */
  private async schedule(scheduler: KeyScheduler, route: Route, run: Running): Promise<void> {
    const scheduled = scheduler.submit(run.batch, route.topic.ordering === 'none')
    run.scheduled = scheduled
    const last = await scheduled.done
    await this.finish(run, last)
  }

  /** One record with concurrency: decode, handler, then retries (pausing off its slot), dead letter or stop. Never rejects. */
  private async handle(
    route: Route,
    record: IncomingRecord,
    batch: PartitionBatch,
    pause: (ms: number) => Promise<void>,
  ): Promise<boolean> {
    const { telemetry } = this.host
    const observed = telemetry?.enabled() ? telemetry.process(record) : undefined
    try {
      const message = route.decode(record)
      const ready = message instanceof Promise ? await message : message
      await (observed ? observed.run(route.handler, ready) : route.handler(ready))
      observed?.end()
      return true
    } catch (error) {
      return this.recover(
        route,
        record,
        batch,
        error instanceof RecordFailure ? error : new RecordFailure('handler', error),
        pause,
        observed,
      )
    }
  }

  private async commitAfter(member: BackendConsumer, record: IncomingRecord): Promise<void> {
    // A batch sought away from commits nothing over the seek.
    if (!this.control.mayCommit(record.topic, record.partition)) return
    try {
      await member.commit([{ topic: record.topic, partition: record.partition, offset: record.offset }])
    } catch (error) {
      // A fenced member lost the partition; its new owner redelivers from the last commit. Anything else is fatal.
      if (!isKeyedError(error, 'FENCED'))
        this.host.fail(
          isKeyedError(error)
            ? error
            : new BackendUnavailableError(this.host.backendName, `the commit failed: ${String(error)}`, {
                cause: error,
              }),
        )
    }
  }

  /** After a failed first try: the remaining tries, then the dead letter or a stop. True when the record is done. */
  private async recover(
    route: Route,
    record: IncomingRecord,
    batch: PartitionBatch,
    first: RecordFailure,
    pause?: (ms: number) => Promise<void>,
    observed?: RecordObservation,
  ): Promise<boolean> {
    let attempt = 1
    let failed: unknown = first.error
    const again = async () => route.handler(await route.decode(record))
    const outcome = await retry(
      this.settings.retry,
      first,
      observed
        ? async () => {
            observed.retrying(++attempt, failed)
            try {
              await observed.run(again, undefined)
            } catch (error) {
              failed = error instanceof RecordFailure ? error.error : error
              throw error
            }
          }
        : again,
      batch,
      () => this.stopping(),
      pause,
    )
    if (outcome.ok) {
      observed?.end()
      return true
    }
    const { failure, attempts } = outcome
    if (!failure) {
      // Unfinished (the partition was lost, the consumer is stopping): it is redelivered, and this span ends here.
      observed?.end()
      return false
    }
    return this.settle(route, record, failure, attempts, observed)
  }

  /** A record that failed for good: written to the dead-letter topic (true), or the consumer stops with its error. */
  private async settle(
    route: Route,
    record: IncomingRecord,
    failure: RecordFailure,
    attempts: number,
    observed?: RecordObservation,
  ): Promise<boolean> {
    const cause = failure.error
    const { deadLetters, telemetry } = this.host
    if (deadLetters) {
      try {
        await deadLetters.write(route.topic, record, failure.stage, cause, attempts)
        const topic = deadLetters.topicFor(record.topic)
        telemetry?.deadLettered(record, topic)
        observed?.end(cause, topic)
        return true
      } catch (error) {
        const stop = new DeadLetterError(record.topic, deadLetters.topicFor(record.topic), error)
        observed?.end(stop)
        this.host.fail(stop)
        return false
      }
    }
    const stop =
      isKeyedError(cause) && failure.stage !== 'handler'
        ? cause
        : new HandlerError(record.topic, record.partition, record.offset, attempts, cause)
    observed?.end(stop)
    this.host.fail(stop)
    return false
  }
}
