import type { Backend, BackendConsumer, GroupMemberOptions, IncomingRecord, PartitionBatch } from './backend/contract.js'
import { BackendUnavailableError, ClosedError, ConfigError, DeadLetterError, HandlerError, isKeyedError, TimeoutError, type KeyedError } from './errors.js'
import { integerOption } from './options.js'
import { checkTopic, type AnyTopic } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'
import { decoderFor, RecordFailure, type Decoder } from './consumer/decode.js'
import { DeadLetters } from './consumer/dead-letter.js'
import { retry, type RetryPolicy } from './consumer/retry.js'
import { KeyScheduler, type ScheduledBatch } from './consumer/scheduler.js'
import type { ConsumerOptions, Handler, SubscribeOptions } from './consumer/types.js'

export { DEAD_LETTER_HEADERS } from './consumer/dead-letter.js'
export type { ConsumerOptions, DeadLetterOptions, Handler, Message, RetryOptions, SubscribeOptions } from './consumer/types.js'

interface Route {
  readonly topic: AnyTopic
  readonly handler: Handler<AnyTopic>
  readonly decode: Decoder
  readonly fromBeginning: boolean
}

/** One onBatch call in flight: what a close that gives up commits, and names in its error. */
interface Running {
  readonly member: BackendConsumer
  readonly batch: PartitionBatch
  /** The last record of the batch whose handling finished. */
  last: IncomingRecord | undefined
  /** The record being handled. */
  current: IncomingRecord | undefined
  /** With concurrency: the batch in the scheduler, which knows both of the above. */
  scheduled: ScheduledBatch | undefined
  /** Lets the backend's onBatch return although a handler has not settled (close timed out). */
  readonly release: () => void
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  return integerOption(`Consumer ${name}`, value, fallback, min)
}

const describeRecord = (r: IncomingRecord) => `${r.topic}[${r.partition}]@${r.offset}`

export class Consumer {
  private readonly routes = new Map<string, Route>()
  private readonly clientId: string | undefined
  private member: BackendConsumer | undefined
  private readonly deadLetters: DeadLetters | undefined
  private failure: KeyedError | undefined
  private closed = false
  /** The one stop in progress (close() or a fatal error); every close() returns it. */
  private closing: Promise<void> | undefined
  /** Set once the stop gave up waiting for handlers: nothing more starts or commits. */
  private abandoned = false
  /** The records whose handlers had not settled when the stop gave up waiting. */
  private unfinished: IncomingRecord[] = []
  private outcome: { error: KeyedError | undefined } | undefined
  private restart: Promise<void> = Promise.resolve()
  private readonly retryPolicy: RetryPolicy
  private readonly autoCommit: boolean
  private readonly closeTimeoutMs: number
  private readonly membership: Pick<GroupMemberOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBatchSize'>
  private readonly running = new Set<Running>()
  /** Set with concurrency > 1 and ordering 'key'; otherwise each partition's records run one at a time. */
  private readonly scheduler: KeyScheduler | undefined
  private stoppedWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []

  /** @internal Created by client.consumer(). */
  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    private readonly options: ConsumerOptions,
    clientId: string | undefined,
  ) {
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new ConfigError('A consumer needs a groupId: members with the same groupId share the partitions of the topics they read.')
    }
    this.retryPolicy = {
      attempts: positiveInt('retry.attempts', options.retry?.attempts, 3),
      initialBackoffMs: positiveInt('retry.initialBackoffMs', options.retry?.initialBackoffMs, 100, 0),
      maxBackoffMs: positiveInt('retry.maxBackoffMs', options.retry?.maxBackoffMs, 5000, 0),
    }
    this.autoCommit = options.autoCommit ?? true
    this.membership = {
      sessionTimeoutMs: positiveInt('sessionTimeoutMs', options.sessionTimeoutMs, 10000),
      heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
      maxBatchSize: positiveInt('maxBatchSize', options.maxBatchSize, 500),
    }
    this.closeTimeoutMs = positiveInt('closeTimeoutMs', options.closeTimeoutMs, this.membership.sessionTimeoutMs)
    const concurrency = positiveInt('concurrency', options.concurrency, 1)
    const ordering = options.ordering ?? (concurrency > 1 ? 'key' : 'partition')
    if (ordering !== 'key' && ordering !== 'partition') throw new ConfigError(`Consumer ordering must be 'key' or 'partition', got '${String(ordering)}'.`)
    const maxBuffered = positiveInt('maxBufferedRecords', options.maxBufferedRecords, Math.max(this.membership.maxBatchSize, 8 * concurrency))
    if (ordering === 'key' && concurrency > 1) {
      this.scheduler = new KeyScheduler(concurrency, maxBuffered, {
        run: (record, batch, pause) => this.handle(this.routes.get(record.topic)!, record, batch, pause),
        open: () => this.failure === undefined && !this.abandoned,
      })
    }
    const deadLetter = options.deadLetter
    this.deadLetters = deadLetter ? new DeadLetters(backend, topics, deadLetter === true ? {} : deadLetter, options.groupId, clientId) : undefined
    this.clientId = clientId
  }

  get groupId(): string {
    return this.options.groupId
  }

  /**
   * Reads a topic as a member of the group: records of one partition reach the handler one at a time, in order (with
   * concurrency > 1: one at a time per key), and are committed after the handler resolves. Resolves once the member
   * joined the group.
   */
  async subscribe<T extends AnyTopic>(topic: T, handler: Handler<T>, options: SubscribeOptions = {}): Promise<void> {
    if (this.closed) throw new ClosedError('consumer')
    checkTopic(topic, 'subscribe()')
    if (typeof handler !== 'function') throw new ConfigError(`subscribe('${topic.name}') needs a handler function.`)
    if (this.routes.has(topic.name)) throw new ConfigError(`This consumer already subscribed to '${topic.name}'; one handler per topic.`)
    await this.topics.resolve(topic)
    this.routes.set(topic.name, { topic, handler: handler as Handler<AnyTopic>, decode: decoderFor(topic), fromBeginning: options.fromBeginning ?? false })
    // Membership is rebuilt with the whole subscription list; serialize so overlapping subscribes do not race.
    const next = this.restart.then(() => this.rejoin())
    this.restart = next.catch(() => undefined)
    await next
  }

  /** Commits the group's position after this message (use with autoCommit: false). */
  async commit(message: { topic: string; partition: number; offset: string }): Promise<void> {
    if (!this.member) throw new ClosedError('consumer')
    await this.member.commit([{ topic: message.topic, partition: message.partition, offset: message.offset }])
  }

  /** Resolves when the consumer is closed; rejects with the error that stopped it (or the TimeoutError of a close that gave up). */
  stopped(): Promise<void> {
    if (this.outcome) return this.outcome.error ? Promise.reject(this.outcome.error) : Promise.resolve()
    return new Promise((resolve, reject) => this.stoppedWaiters.push({ resolve, reject }))
  }

  /**
   * Lets the handlers in flight finish, commits what finished and leaves the group, within closeTimeoutMs. Past it,
   * rejects with a TimeoutError naming the records still being handled: they stay uncommitted (the group redelivers
   * them) and their handlers are left running. Every call returns the same outcome.
   */
  close(): Promise<void> {
    this.closed = true
    return (this.closing ??= this.stop())
  }

  private async rejoin(): Promise<void> {
    if (this.member) {
      const old = this.member
      this.member = undefined
      await old.close()
    }
    if (this.closed) return
    const member = this.backend.consumer({
      groupId: this.options.groupId,
      clientId: this.clientId,
      subscriptions: [...this.routes.values()].map((r) => ({ topic: r.topic.name, fromBeginning: r.fromBeginning })),
      onBatch: (batch) => this.onBatch(member, batch),
      // A member that dies after joining stops this consumer like any other fatal error (unless it was replaced).
      onFatal: (error) => {
        if (this.member === member) this.fail(error)
      },
      ...this.membership,
    })
    this.member = member
    await member.start()
  }

  /** Closes the member and the dead-letter producer, bounded by closeTimeoutMs; settles stopped() with the outcome. */
  private async stop(): Promise<void> {
    const timeoutMs = this.closeTimeoutMs
    // Handlers get all but a short reserve, in which what finished is committed and the member leaves the group.
    const reserve = Math.min(1000, Math.floor(timeoutMs / 5))
    let abandonTimer: NodeJS.Timeout | undefined
    let giveUpTimer: NodeJS.Timeout | undefined
    const work = (async () => {
      // A member still joining is closed too; a subscribe in progress then sees the consumer closed.
      await this.shutdown()
      await this.restart
      await this.shutdown()
    })().then(
      () => undefined,
      (error: unknown) => error,
    )
    const late = new Promise<true>((resolve) => {
      abandonTimer = setTimeout(() => void this.abandon(), timeoutMs - reserve)
      giveUpTimer = setTimeout(() => resolve(true), timeoutMs)
    })
    try {
      const result = await Promise.race([work, late])
      // Timed out: the member did not finish leaving, or it did only because records were abandoned.
      if (result === true || this.unfinished.length > 0) {
        const error = this.timeoutError(timeoutMs)
        this.settle(this.failure ?? error)
        throw error
      }
      this.settle(this.failure ?? (isKeyedError(result) ? result : undefined))
      if (result !== undefined) throw result
    } finally {
      clearTimeout(abandonTimer)
      clearTimeout(giveUpTimer)
    }
  }

  private async shutdown(): Promise<void> {
    const member = this.member
    this.member = undefined
    try {
      await member?.close()
    } finally {
      await this.deadLetters?.close()
    }
  }

  private settle(error: KeyedError | undefined): void {
    if (this.outcome) return
    this.outcome = { error }
    const waiters = this.stoppedWaiters
    this.stoppedWaiters = []
    for (const w of waiters) (error ? w.reject(error) : w.resolve())
  }

  /** Stops waiting for handlers that did not settle: commits what finished before them and lets their batches return. */
  private async abandon(): Promise<void> {
    this.abandoned = true
    this.unfinished = [...this.running].flatMap((run) => (run.scheduled ? run.scheduled.inFlight() : run.current ? [run.current] : []))
    await Promise.all(
      [...this.running].map(async (run) => {
        const last = run.scheduled ? run.scheduled.prefixEnd() : run.last
        if (last && this.autoCommit) await run.member.commit([{ topic: last.topic, partition: last.partition, offset: last.offset }]).catch(() => undefined)
        run.release()
      }),
    )
  }

  private timeoutError(timeoutMs: number): TimeoutError {
    const unfinished = this.unfinished.map(describeRecord)
    const what = `Closing the consumer of group '${this.options.groupId}'`
    const hint = unfinished.length
      ? `${unfinished.length} record(s) were still being handled (${unfinished.slice(0, 10).join(', ')}${unfinished.length > 10 ? ', …' : ''}); ` +
        `they stay uncommitted and the group redelivers them, but their handlers may still be running. ` +
        `Make handlers settle sooner, or raise closeTimeoutMs.`
      : `The ${this.backend.name} backend did not finish leaving the group; its partitions move on when its session expires.`
    // Closing again gives the same outcome: not retriable.
    return new TimeoutError(what, timeoutMs, hint, { retriable: false })
  }

  private fail(error: KeyedError): void {
    if (this.failure) return
    this.failure = error
    this.closed = true
    if (this.options.onError) this.options.onError(error)
    else if (this.stoppedWaiters.length === 0) console.error(`[keyed] consumer '${this.options.groupId}' stopped:`, error)
    // Not awaited: we are inside a batch, and closing the member waits for that batch to return.
    this.closing ??= this.stop()
    // Its outcome reaches stopped() and any close() caller.
    this.closing.catch(() => undefined)
  }

  /** Handles one partition's batch. Never rejects: every failure becomes a retry, a dead letter or a stop. */
  private onBatch(member: BackendConsumer, batch: PartitionBatch): Promise<void> {
    const route = this.routes.get(batch.topic)
    if (!route || this.failure || this.abandoned) return Promise.resolve()
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const run: Running = { member, batch, last: undefined, current: undefined, scheduled: undefined, release }
    this.running.add(run)
    const work = (this.scheduler ? this.schedule(this.scheduler, route, run) : this.runBatch(route, run)).finally(() => this.running.delete(run))
    return Promise.race([work, released])
  }

  private async runBatch(route: Route, run: Running): Promise<void> {
    const { batch } = run
    const { decode, handler } = route
    let last: IncomingRecord | undefined
    for (const record of batch.records) {
      if (!batch.isActive() || this.failure || this.abandoned) break
      // The first try stays synchronous where decoding and the handler are, so a batch costs no promise per record.
      // A close can only give up while this waits, so where it stands is written down only before an await.
      try {
        let message = decode(record)
        if (message instanceof Promise) {
          run.last = last
          run.current = record
          message = await message
        }
        const result = handler(message)
        if (result instanceof Promise) {
          run.last = last
          run.current = record
          await result
        }
      } catch (error) {
        run.last = last
        run.current = record
        if (!(await this.recover(route, record, batch, error instanceof RecordFailure ? error : new RecordFailure('handler', error)))) break
      }
      last = record
    }
    run.last = last
    run.current = undefined
    if (last && this.autoCommit && !this.abandoned) await this.commitAfter(run.member, last)
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
    if (last && this.autoCommit && !this.abandoned) await this.commitAfter(run.member, last)
  }

  /** One record with concurrency: decode, handler, then retries (pausing off its slot), dead letter or stop. Never rejects. */
  private async handle(route: Route, record: IncomingRecord, batch: PartitionBatch, pause: (ms: number) => Promise<void>): Promise<boolean> {
    try {
      const message = route.decode(record)
      await route.handler(message instanceof Promise ? await message : message)
      return true
    } catch (error) {
      return this.recover(route, record, batch, error instanceof RecordFailure ? error : new RecordFailure('handler', error), pause)
    }
  }

  private async commitAfter(member: BackendConsumer, record: IncomingRecord): Promise<void> {
    try {
      await member.commit([{ topic: record.topic, partition: record.partition, offset: record.offset }])
    } catch (error) {
      // A fenced member lost the partition; its new owner redelivers from the last commit. Anything else is fatal.
      if (!isKeyedError(error, 'FENCED')) this.fail(isKeyedError(error) ? error : new BackendUnavailableError(this.backend.name, `the commit failed: ${String(error)}`, { cause: error }))
    }
  }

  /** After a failed first try: the remaining tries, then the dead letter or a stop. True when the record is done. */
  private async recover(route: Route, record: IncomingRecord, batch: PartitionBatch, first: RecordFailure, pause?: (ms: number) => Promise<void>): Promise<boolean> {
    const stopping = () => this.failure !== undefined || this.abandoned
    const outcome = await retry(this.retryPolicy, first, async () => route.handler(await route.decode(record)), batch, stopping, pause)
    if (outcome.ok) return true
    const { failure, attempts } = outcome
    if (!failure) return false
    const cause = failure.error
    if (this.deadLetters) {
      try {
        await this.deadLetters.write(route.topic, record, failure.stage, cause, attempts)
        return true
      } catch (error) {
        this.fail(new DeadLetterError(record.topic, this.deadLetters.topicFor(record.topic), error))
        return false
      }
    }
    this.fail(isKeyedError(cause) && failure.stage !== 'handler' ? cause : new HandlerError(record.topic, record.partition, record.offset, attempts, cause))
    return false
  }
}
