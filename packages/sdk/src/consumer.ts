import type { KeyedAbortSignal } from './signal.js'
import type {
  Backend,
  BackendConsumer,
  IncomingRecord,
  OffsetFormat,
  OffsetRange,
  TopicPartition,
} from './backend/contract.js'
import { clampOffset } from './backend/offsets.js'
import { checkSignal, onAbort } from './abort.js'
import {
  AbortError,
  ClosedError,
  ConfigError,
  isKeyedError,
  NotAssignedError,
  TimeoutError,
  type KeyedError,
} from './errors.js'
import { checkTopic, type AnyTopic } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'
import type { ClientTelemetry, ConsumerTelemetry } from './telemetry/hooks.js'
import { Emitter, type ConsumerEventName, type ConsumerEvents } from './events.js'
import { groupLag, type GroupLag } from './lag.js'
import { defaultLogger, type Logger } from './logger.js'
import { Ownership } from './consumer/assignment.js'
import { PartitionControl } from './consumer/control.js'
import { BatchRunner, type Route } from './consumer/batches.js'
import type { BatchHandler, CloseOptions, MessagesOptions, SubscribeBatchOptions } from './consumer/batch-types.js'
import { DeadLetters } from './consumer/dead-letter.js'
import { decoderFor } from './consumer/decode.js'
import { resolveConsumerSettings, resolveRunSettings, type ConsumerSettings } from './consumer/settings.js'
import { MessageIterator } from './consumer/messages.js'
import { integerOption } from './options.js'
import type { ConsumerOptions, Handler, Message, SubscribeOptions } from './consumer/types.js'

export { DEAD_LETTER_HEADERS } from './consumer/dead-letter.js'
export type {
  ConsumerOptions,
  DeadLetterOptions,
  Handler,
  Message,
  RetryOptions,
  SubscribeOptions,
} from './consumer/types.js'
export type {
  BatchHandler,
  CloseOptions,
  MessageBatch,
  MessagesOptions,
  SubscribeBatchOptions,
} from './consumer/batch-types.js'

const describeRecord = (r: IncomingRecord) => `${r.topic}[${r.partition}]@${r.offset}`

/**
 * A group member's lifecycle: subscriptions, joining, commits on request, and a stop (close or fatal error) bounded
 * by closeTimeoutMs. How records are handled lives in consumer/: decode, retry, dead-letter, scheduler, batches.
 */
export class Consumer {
  private readonly routes = new Map<string, Route>()
  private readonly clientId: string | undefined
  private readonly settings: ConsumerSettings
  private readonly batches: BatchRunner
  private readonly ownership = new Ownership()
  private readonly control = new PartitionControl()
  /** Partition counts of the subscribed topics, as resolved: what pause(topic) without partitions covers. */
  private readonly partitionCounts = new Map<string, number>()
  private member: BackendConsumer | undefined
  private readonly deadLetters: DeadLetters | undefined
  private failure: KeyedError | undefined
  private closed = false
  /** The one stop in progress (close() or a fatal error); every close() returns it. */
  private closing: Promise<void> | undefined
  /** The records whose handlers had not settled when the stop gave up waiting. */
  private unfinished: IncomingRecord[] = []
  private outcome: { error: KeyedError | undefined } | undefined
  private restart: Promise<void> = Promise.resolve()
  private stoppedWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  private closeCalled = false
  /** The failure came while close() was running: close() rejects with it. */
  private failedWhileClosing = false
  /** Rejects once close() is called, so a subscribe still waiting on the backend ends with the close, not after it. */
  private readonly stopping: Promise<never>
  private signalStopping!: () => void
  /** Set by the first subscribe, subscribeBatch or messages call: messages() must be a consumer's only subscription. */
  private subscribed = false
  private iterating = false
  /** Set when close()'s signal made it stop waiting for handlers. */
  private aborted: { reason: unknown } | undefined
  private gaveUp = false
  /** Signal listeners to remove once the consumer stopped. */
  private unlisten: Array<() => void> = []
  private readonly events: Emitter<ConsumerEvents>
  private readonly telemetry: ConsumerTelemetry | undefined
  /** Stops reporting the lag gauge. */
  private unobserveLag: (() => void) | undefined

  /** @internal Created by client.consumer(). */
  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    private readonly options: ConsumerOptions,
    clientId: string | undefined,
    private readonly logger: Logger = defaultLogger,
    telemetry?: ClientTelemetry,
  ) {
    this.settings = resolveConsumerSettings(options)
    this.events = new Emitter(logger, `consumer '${options.groupId}'`)
    this.stopping = new Promise<never>((_, reject) => (this.signalStopping = () => reject(new ClosedError('consumer'))))
    this.stopping.catch(() => undefined)
    const deadLetter = options.deadLetter
    this.deadLetters = deadLetter
      ? new DeadLetters(backend, topics, deadLetter === true ? {} : deadLetter, options.groupId, clientId)
      : undefined
    this.clientId = clientId
    this.batches = new BatchRunner(
      {
        route: (topic) => this.routes.get(topic),
        failed: () => this.failure !== undefined,
        fail: (error) => this.fail(error),
        backendName: backend.name,
        deadLetters: this.deadLetters,
        telemetry: (this.telemetry = telemetry?.consumer(options.groupId)),
      },
      this.settings,
      this.control,
    )
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
    await this.add(topic, 'subscribe', handler, options, () => {
      const own = options.concurrency !== undefined || options.ordering !== undefined
      // An override replaces only what it names: the rest is the consumer's as given (an ordering the consumer left
      // to its default follows the topic's concurrency), and so is maxBufferedRecords.
      const run = own
        ? resolveRunSettings(
            `subscribe('${topic.name}')`,
            {
              concurrency: options.concurrency ?? this.options.concurrency,
              ordering: options.ordering ?? this.options.ordering,
              maxBufferedRecords: this.options.maxBufferedRecords,
            },
            this.settings.autoCommit,
            this.settings.membership.maxBatchSize,
          )
        : undefined
      return { handler: handler as Handler<AnyTopic>, run }
    })
  }

  /**
   * Reads a topic as a member of the group, handing the handler up to maxBatchSize records of one partition at a
   * time, in offset order; one batch in flight per partition (partitions run side by side; the consumer's concurrency
   * does not apply). Records that do not decode or validate are dead-lettered before the handler sees the batch (or,
   * without deadLetter, the consumer stops after handling the records before them). The batch is committed after the
   * handler resolves; batch.commit(upTo) commits a prefix early, and a throw then retries only the rest. After the
   * last try the rest is dead-lettered, or the consumer stops without committing it. Resolves once joined.
   */
  async subscribeBatch<T extends AnyTopic>(
    topic: T,
    handler: BatchHandler<T>,
    options: SubscribeBatchOptions = {},
  ): Promise<void> {
    await this.add(topic, 'subscribeBatch', handler, options, () => this.batchRoute(topic, handler, options))
  }

  /**
   * The topic's records as an async iterator: `for await (const msg of consumer.messages(topic))`. It must be the
   * consumer's only subscription: leaving the loop (break, return, a throw) or aborting the signal closes the
   * consumer. A message counts as finished when the loop asks for the next one, so the one being handled when the
   * loop is left, and everything after it, stays uncommitted and is redelivered. Each partition's records come in
   * offset order; nothing more is fetched than the loop consumes (one batch per owned partition is buffered), and
   * no record of a partition this member lost is yielded after it lost it.
   */
  messages<T extends AnyTopic>(topic: T, options: MessagesOptions = {}): AsyncIterableIterator<Message<T>, undefined> {
    if (this.subscribed)
      throw new ConfigError(
        `messages('${topic.name}') must be a consumer's only subscription, because leaving the loop closes the consumer; ` +
          `this consumer already subscribed. Use another client.consumer() for the loop.`,
      )
    this.iterating = true
    return new MessageIterator<T>(
      {
        subscribe: (handler) =>
          this.add(topic, 'messages', handler, { fromBeginning: options.fromBeginning }, () =>
            this.batchRoute(topic, handler, options),
          ),
        close: () => this.close(),
        stopped: () => this.stopped(),
      },
      options,
    )
  }

  private batchRoute<T extends AnyTopic>(
    topic: T,
    handler: BatchHandler<T>,
    options: { maxBatchSize?: number },
  ): Pick<Route, 'handler' | 'run' | 'batch'> {
    const maxBatchSize = integerOption(
      `subscribeBatch('${topic.name}') maxBatchSize`,
      options.maxBatchSize,
      this.settings.membership.maxBatchSize,
      1,
    )
    return { handler: batchOnly, run: undefined, batch: { handler: handler as BatchHandler<AnyTopic>, maxBatchSize } }
  }

  private iteratingError(topic: AnyTopic): ConfigError {
    return new ConfigError(
      `Cannot subscribe to '${topic.name}': this consumer iterates messages(), which must be its only subscription ` +
        `(leaving the loop closes the consumer). Use another client.consumer().`,
    )
  }

  /** Adds a route and rejoins with it; an aborted signal closes the consumer. */
  private async add(
    topic: AnyTopic,
    where: 'subscribe' | 'subscribeBatch' | 'messages',
    handler: unknown,
    options: { fromBeginning?: boolean; signal?: KeyedAbortSignal },
    route: () => Pick<Route, 'handler' | 'run' | 'batch'>,
  ): Promise<void> {
    if (this.closed) throw new ClosedError('consumer')
    checkTopic(topic, `${where}()`)
    if (where !== 'messages' && this.iterating) throw this.iteratingError(topic)
    if (typeof handler !== 'function') throw new ConfigError(`${where}('${topic.name}') needs a handler function.`)
    if (this.routes.has(topic.name))
      throw new ConfigError(`This consumer already subscribed to '${topic.name}'; one handler per topic.`)
    const signal = checkSignal(options.signal, `${where}('${topic.name}')`)
    const what = `${where}('${topic.name}')`
    if (signal?.aborted) throw new AbortError(what, signal.reason, 'Nothing was subscribed.')
    this.subscribed = true
    // A member's subscriptions change only by rejoining, so an aborted subscription ends the consumer, as close() does.
    if (signal) this.unlisten.push(onAbort(signal, () => void this.close().catch(() => undefined)))
    const whenAborted = (error: unknown) =>
      signal?.aborted ? new AbortError(what, signal.reason, 'The consumer was closed.') : error
    const resolving = this.topics.resolve(topic)
    resolving.catch(() => undefined) // a close that came first answers this call
    try {
      this.partitionCounts.set(topic.name, (await Promise.race([resolving, this.stopping])).partitions)
    } catch (error) {
      throw whenAborted(this.closeCalled ? new ClosedError('consumer') : error)
    }
    // Closed while the topic was being checked: nothing joined, nothing will be read.
    if (this.closed) throw whenAborted(new ClosedError('consumer'))
    const parts = route()
    this.routes.set(topic.name, {
      topic,
      decode: decoderFor(topic),
      fromBeginning: options.fromBeginning ?? false,
      ...parts,
    })
    // Membership is rebuilt with the whole subscription list; serialize so overlapping subscribes do not race.
    const next = this.restart.then(() => this.rejoin())
    this.restart = next.catch(() => undefined)
    // close() waits for a join in progress, so this settles before close() does.
    try {
      await next
    } catch (error) {
      throw whenAborted(error)
    }
    if (signal?.aborted) throw whenAborted(undefined)
  }

  /**
   * Listens to the consumer's lifecycle: 'joined', 'assigned', 'revoked', 'committed', 'stopped' (see ConsumerEvents).
   * Listeners run synchronously; one that throws is logged and does not affect the consumer. Returns a function that
   * removes the listener.
   */
  on<E extends ConsumerEventName>(event: E, listener: (event: ConsumerEvents[E]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** Removes a listener added with on(). */
  off<E extends ConsumerEventName>(event: E, listener: (event: ConsumerEvents[E]) => void): void {
    this.events.off(event, listener)
  }

  /** Commits the group's position after this message (use with autoCommit: false). */
  async commit(message: { topic: string; partition: number; offset: string }): Promise<void> {
    if (!this.member) throw new ClosedError('consumer')
    await this.member.commit([{ topic: message.topic, partition: message.partition, offset: message.offset }])
  }

  /**
   * Stops handing records of these partitions of the topic (without `partitions`, of all of them) to handlers until
   * resume(). Records being handled finish and are committed; records fetched but not started are read again after
   * resume, so nothing is skipped and order holds. The member stays in the group, heartbeating, however long the pause
   * lasts. The pause is this consumer's and outlives rebalances: a paused partition assigned to it again stays paused,
   * while one that moves to another member is read there (that member never paused it).
   */
  pause(topic: AnyTopic | string, partitions?: readonly number[]): void {
    const [name, list] = this.partitionsOf('pause', topic, partitions)
    this.control.pause(name, partitions)
    this.member?.pause?.(list)
  }

  /** Hands records of these partitions (without `partitions`, of all the topic's) to handlers again, from where they stopped. */
  resume(topic: AnyTopic | string, partitions?: readonly number[]): void {
    const [name, list] = this.partitionsOf('resume', topic, partitions)
    this.control.resume(name, partitions)
    this.member?.resume?.(list.filter((tp) => !this.control.isPaused(tp.topic, tp.partition)))
  }

  /** The paused partitions of the subscribed topics, owned now or not. */
  paused(): TopicPartition[] {
    return this.control.pausedOf(this.partitionCounts)
  }

  /**
   * Makes the next record handled from a partition this consumer owns the one at `offset` (a record's offset as
   * messages carry it; on Redis an entry id), backwards (replay) or forwards. Records fetched and not started are
   * dropped; the one being handled finishes, and nothing of its batch is committed over the seek. The group's
   * committed position follows once a record from the new position is committed. An offset outside the partition's
   * [start, end] when the seek is applied goes to the nearer edge, as admin().resetOffsets() does (logged at warn):
   * past the end, the next record handled is the first one written after the seek, none skipped; before the start
   * (records removed by retention), the oldest surviving one. An offset not in the backend's format is a ConfigError,
   * a partition not owned now a NotAssignedError; to move a group none of whose members run, use admin().resetOffsets().
   */
  seek(position: { readonly topic: AnyTopic | string; readonly partition: number; readonly offset: string }): void {
    const topic = typeof position?.topic === 'string' ? position.topic : position?.topic?.name
    const { partition, offset } = position ?? {}
    if (typeof topic !== 'string' || !Number.isInteger(partition) || typeof offset !== 'string' || offset === '')
      throw new ConfigError(
        `seek() needs { topic, partition, offset }: a topic, an integer partition and an offset string as messages carry it.`,
      )
    const format = this.backend.offsetFormat
    if (format && !format.valid(offset))
      throw new ConfigError(
        `seek(${topic}[${partition}]): the ${this.backend.name} backend's offsets are ${format.description}, got '${offset}'.`,
      )
    if (this.closed) throw new ClosedError('consumer')
    const member = this.member
    if (member && !member.seek)
      throw new ConfigError(
        `The ${this.backend.name} backend cannot seek: it does not implement BackendConsumer.seek().`,
      )
    if (!member?.seek || !this.ownership.owns(topic, partition))
      throw new NotAssignedError(
        this.options.groupId,
        topic,
        partition,
        this.ownership.list().map((tp) => `${tp.topic}[${tp.partition}]`),
      )
    if (!format || !this.backend.offsetRange) {
      // With a batch of it in flight, the seek waits for that batch to return; otherwise the backend takes it now.
      if (!this.control.seek(topic, partition, offset)) member.seek({ topic, partition, offset })
      return
    }
    // The offset is clamped into the partition's range, looked up now: meanwhile nothing of the partition is handled
    // or committed, and once it is known the seek goes on as above (after the batch in flight, if any).
    const ticket = this.control.seekLater(topic, partition)
    void this.clampedSeekOffset(format, topic, partition, offset)
      .then((target) => {
        if (!this.control.sought(topic, partition, ticket, target)) return
        if (this.member === member && this.ownership.owns(topic, partition))
          member.seek?.({ topic, partition, offset: target })
      })
      .catch((error: unknown) =>
        this.logger.error(
          { groupId: this.options.groupId, topic, partition, err: error },
          `seek(${topic}[${partition}]) failed`,
        ),
      )
  }

  /** The offset within the partition's range, logged when it was outside; as given when the range cannot be looked up. */
  private async clampedSeekOffset(
    format: OffsetFormat,
    topic: string,
    partition: number,
    offset: string,
  ): Promise<string> {
    const where = { groupId: this.options.groupId, topic, partition, requested: offset }
    let range: OffsetRange
    try {
      range = await this.backend.offsetRange!(topic, partition)
    } catch (error) {
      this.logger.warn(
        { ...where, err: error },
        `seek(${topic}[${partition}]): could not look up the partition's range; seeking to ${offset} as given.`,
      )
      return offset
    }
    const target = clampOffset(format, offset, range)
    if (target !== offset)
      this.logger.warn(
        { ...where, offset: target, low: range.low, high: range.high },
        `seek(${topic}[${partition}]): offset ${offset} is outside the partition's [start, end] = [${range.low}, ${range.high}]; seeking to ${target} instead.`,
      )
    return target
  }

  /** Checks pause()/resume() arguments; the topic's name and the partitions they cover. */
  private partitionsOf(
    what: string,
    topic: AnyTopic | string,
    partitions: readonly number[] | undefined,
  ): [string, TopicPartition[]] {
    const name = typeof topic === 'string' ? topic : topic?.name
    const count = this.partitionCounts.get(name)
    if (count === undefined)
      throw new ConfigError(
        `${what}('${String(name)}'): this consumer does not read that topic; subscribe to it first (await subscribe()).`,
      )
    if (
      partitions !== undefined &&
      (!Array.isArray(partitions) || !partitions.every((p) => Number.isInteger(p) && p >= 0 && p < count))
    )
      throw new ConfigError(
        `${what}('${name}', partitions): partitions must be integers from 0 to ${count - 1}, got ${JSON.stringify(partitions)}.`,
      )
    if (this.member && !this.member.pause)
      throw new ConfigError(
        `The ${this.backend.name} backend cannot pause: it does not implement BackendConsumer.pause().`,
      )
    const list = partitions ?? Array.from({ length: count }, (_, p) => p)
    return [name, list.map((partition) => ({ topic: name, partition }))]
  }

  /** The partitions this consumer owns now (sorted by topic, then partition); empty before it joined and once closed. */
  assignment(): TopicPartition[] {
    return this.ownership.list()
  }

  /**
   * How far this consumer's group is behind in the topics this consumer subscribed to: per partition the committed
   * position, the end and the records between (the whole group's position, whichever member owns the partition).
   */
  lag(): Promise<GroupLag> {
    return groupLag(this.backend, this.options.groupId, [...this.routes.keys()])
  }

  /** Resolves when the consumer is closed; rejects with the error that stopped it (or the TimeoutError of a close that gave up). */
  stopped(): Promise<void> {
    if (this.outcome) return this.outcome.error ? Promise.reject(this.outcome.error) : Promise.resolve()
    return new Promise((resolve, reject) => this.stoppedWaiters.push({ resolve, reject }))
  }

  /**
   * Lets the handlers in flight finish, commits what finished and leaves the group, within closeTimeoutMs. Past it,
   * rejects with a TimeoutError naming the records still being handled: they stay uncommitted (the group redelivers
   * them) and their handlers are left running. Every call returns the same outcome. An aborted `signal` stops the
   * waiting for handlers then, as the timeout would, and close() rejects with an AbortError naming the unfinished records.
   */
  close(options: CloseOptions = {}): Promise<void> {
    let signal: KeyedAbortSignal | undefined
    try {
      signal = checkSignal(options.signal, 'close()')
    } catch (error) {
      this.close().catch(() => undefined)
      return Promise.reject(error as Error)
    }
    this.closed = true
    this.closeCalled = true
    this.signalStopping()
    const closing = (this.closing ??= this.stop())
    if (signal && !this.outcome) this.unlisten.push(onAbort(signal, () => this.abandon({ reason: signal.reason })))
    return closing
  }

  /** Stops waiting for handlers: what finished is committed, the rest is named in close()'s error. */
  private abandon(aborted?: { reason: unknown }): void {
    if (this.gaveUp || this.outcome) return
    this.gaveUp = true
    this.aborted = aborted
    this.unfinished = this.batches.giveUp()
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
      onBatch: (batch) => this.batches.onBatch(member, batch),
      // A member that dies after joining stops this consumer like any other fatal error (unless it was replaced).
      onFatal: (error) => {
        if (this.member === member) this.fail(error)
      },
      // Not tied to the current member: a member being replaced reports its revocations while it closes.
      onAssigned: (partitions) => this.partitionsChanged('assigned', partitions),
      onRevoked: (partitions) => this.partitionsChanged('revoked', partitions),
      ...this.settings.membership,
      // A batch handler's maxBatchSize above the consumer's raises the fetch size, so its batches can fill.
      maxBatchSize: Math.max(
        this.settings.membership.maxBatchSize,
        ...[...this.routes.values()].map((r) => r.batch?.maxBatchSize ?? 0),
      ),
      closeTimeoutMs: this.settings.closeTimeoutMs,
    })
    // Every commit (after a batch, commit(message), batch.commit(upTo)) goes through the member: told once it succeeded.
    const commit = member.commit.bind(member)
    member.commit = async (offsets) => {
      await commit(offsets)
      this.events.emit('committed', { groupId: this.options.groupId, offsets: [...offsets] })
    }
    this.member = member
    // The pause is this consumer's: a rebuilt member starts with it.
    const paused = this.control.pausedOf(this.partitionCounts)
    if (paused.length > 0) member.pause?.(paused)
    await member.start()
    this.unobserveLag ??= this.telemetry?.observeLag(() => this.lag())
    this.events.emit('joined', { groupId: this.options.groupId, topics: [...this.routes.keys()] })
  }

  /** Closes the member and the dead-letter producer, bounded by closeTimeoutMs; settles stopped() with the outcome. */
  private async stop(): Promise<void> {
    const timeoutMs = this.settings.closeTimeoutMs
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
      abandonTimer = setTimeout(() => this.abandon(), timeoutMs - reserve)
      giveUpTimer = setTimeout(() => resolve(true), timeoutMs)
    })
    try {
      const result = await Promise.race([work, late])
      // A backend that abandoned batches in flight within a bound of its own left their records running: they are
      // unfinished like those this close gave up on, and none of them may be committed late.
      if (result !== true && this.unfinished.length === 0) this.unfinished = this.batches.giveUp()
      // Timed out: the member did not finish leaving, or it did only because records were abandoned.
      if (result === true || this.unfinished.length > 0) {
        const error =
          result !== true && this.aborted ? this.abortError(this.aborted.reason) : this.timeoutError(timeoutMs)
        this.settle(this.failure ?? error)
        throw error
      }
      this.settle(this.failure ?? (isKeyedError(result) ? result : undefined))
      // A failure while close() ran (its last commit refused, say) is close()'s outcome too: nothing else said it. One
      // that stopped the consumer before went to onError, stopped() or the logger, and a later close() resolves.
      if (this.failure && this.failedWhileClosing) throw this.failure
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
    this.ownership.clear()
    this.unobserveLag?.()
    this.outcome = { error }
    for (const off of this.unlisten) off()
    this.unlisten = []
    const waiters = this.stoppedWaiters
    this.stoppedWaiters = []
    for (const w of waiters) error ? w.reject(error) : w.resolve()
    this.events.emit('stopped', { groupId: this.options.groupId, error })
  }

  /** "3 record(s) were still being handled (t[0]@1, …); they stay uncommitted …" */
  private unfinishedText(): string {
    const unfinished = this.unfinished.map(describeRecord)
    return (
      `${unfinished.length} record(s) were still being handled (${unfinished.slice(0, 10).join(', ')}${unfinished.length > 10 ? ', …' : ''}); ` +
      `they stay uncommitted and the group redelivers them, but their handlers may still be running.`
    )
  }

  private abortError(reason: unknown): AbortError {
    return new AbortError(
      `Closing the consumer of group '${this.options.groupId}'`,
      reason,
      `It stopped waiting for handlers: ${this.unfinishedText()}`,
    )
  }

  private timeoutError(timeoutMs: number): TimeoutError {
    const what = `Closing the consumer of group '${this.options.groupId}'`
    const hint = this.unfinished.length
      ? `${this.unfinishedText()} Make handlers settle sooner, or raise closeTimeoutMs.`
      : `The ${this.backend.name} backend did not finish leaving the group; its partitions move on when its session expires.`
    // Closing again gives the same outcome: not retriable.
    return new TimeoutError(what, timeoutMs, hint, { retriable: false })
  }

  /** What the backend's onAssigned/onRevoked said, recorded and passed on to the listeners. */
  private partitionsChanged(change: 'assigned' | 'revoked', partitions: readonly TopicPartition[]): void {
    const copies = change === 'assigned' ? this.ownership.assigned(partitions) : this.ownership.revoked(partitions)
    if (change === 'revoked') this.control.revoked(partitions)
    const listener = change === 'assigned' ? this.options.onPartitionsAssigned : this.options.onPartitionsRevoked
    this.events.emit(change, { groupId: this.options.groupId, partitions: copies })
    try {
      listener?.(copies)
    } catch (error) {
      // A listener must not break the backend's rebalance: reported, not thrown.
      this.logger.error(
        { groupId: this.options.groupId, err: error },
        `consumer '${this.options.groupId}': the partitions-${change} listener threw`,
      )
    }
  }

  private fail(error: KeyedError): void {
    if (this.failure) return
    this.failure = error
    this.failedWhileClosing = this.closeCalled
    this.closed = true
    // Said once: to onError, else to a caller waiting on stopped() or close(), else to the logger.
    if (this.options.onError) this.options.onError(error)
    else if (this.stoppedWaiters.length === 0 && !this.closeCalled)
      this.logger.error({ groupId: this.options.groupId, err: error }, `consumer '${this.options.groupId}' stopped`)
    // Not awaited: we are inside a batch, and closing the member waits for that batch to return.
    this.closing ??= this.stop()
    // Its outcome reaches stopped() and any close() caller.
    this.closing.catch(() => undefined)
  }
}

/** The per-record handler slot of a batch route: the batch runner calls the batch handler instead. */
const batchOnly: Handler<AnyTopic> = () => {
  throw new Error('keyed internal error: a batch route has no per-record handler')
}
