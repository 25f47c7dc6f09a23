// The global `performance` is a lazy getter on every access in Node; isActive reads the clock once per record.
import { performance } from 'node:perf_hooks'
import type {
  Consumer as KafkaJsConsumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  OffsetsByTopicPartition,
} from 'kafkajs'
import type {
  BackendConsumer,
  CommitOffset,
  GroupMemberOptions,
  GroupPartitionOffset,
  IncomingRecord,
  TopicPartition,
} from '@keyed/sdk/backend'
import { isKeyedError, type Logger } from '@keyed/sdk/backend'
import { Assignment } from './assignment.js'
import { LEAVE_TIMEOUT_MS, within } from './bounded.js'
import { root, toKeyedError, type ErrorContext } from './errors.js'
import { MarkerTails } from './marker-tails.js'
import { startsToPin } from './start-pin.js'

export interface KafkaConsumerTuning {
  readonly partitionsConsumedConcurrently: number
  /** How long start() waits for the first join, through kafkajs's own restarts. */
  readonly joinTimeoutMs: number
  /** The heartbeat interval kafkajs was given. */
  readonly heartbeatIntervalMs: number
  /** How long close() waits for batches in flight before it abandons them (uncommitted) and leaves the group. */
  readonly closeTimeoutMs: number
}

/** Most isActive() calls in one synchronous stretch that go without a clock read. */
const CLOCK_EVERY = 16
const SETTLED = Promise.resolve()

/** The coordinator's answers that this member's generation is over: it was expelled, or must rejoin (eager: all is revoked). */
const EXPELLED = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS'])

/** A chunk handed to the SDK and not settled yet, for close() to abandon and for the warning of an expelled member. */
interface InFlight {
  readonly records: readonly IncomingRecord[]
  readonly since: number
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/** Header values as strings; kept apart from headersOf so that the usual case, no headers, stays small enough to inline. */
function copyHeaders(headers: IHeaders): Readonly<Record<string, string>> {
  let out: Record<string, string> | undefined
  for (const name in headers) {
    const raw = headers[name]
    out ??= {}
    // Kafka allows repeated header names; as a map, the last one wins.
    const value: Buffer | string | null | undefined = Array.isArray(raw) ? raw[raw.length - 1] : raw
    if (value === undefined) continue
    // A null value (a header used as a flag) keeps its name, as '', since a string map has no "no value".
    out[name] = value === null ? '' : typeof value === 'string' ? value : value.toString('utf8')
  }
  return out ?? NO_HEADERS
}

function headersOf(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (headers) for (const _ in headers) return copyHeaders(headers)
  return NO_HEADERS
}

// kafkajs gives timestamps as decimal strings, and the records of one producer request mostly share theirs: the last
// one parsed is kept, so a run of equal timestamps costs a string comparison each instead of a parse.
let lastStamp = ''
let lastTime = 0

function timeOf(stamp: string): number {
  if (stamp !== lastStamp) {
    lastTime = Number(stamp)
    lastStamp = stamp
  }
  return lastTime
}

/** The SDK's record of a kafkajs message (also the table reader's). */
export function incoming(topic: string, partition: number, m: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersOf(m.headers),
    timestamp: timeOf(m.timestamp),
  }
}

/**
 * The SDK's records of messages[from, to), in one pass without an intermediate slice or a closure per record. A
 * function of its own: the loop is the hot part of a batch, and inside eachBatch it would have the JIT compile all of
 * that async function (on-stack replacement) to optimize it, at several times the cost.
 */
function incomingRange(topic: string, partition: number, messages: KafkaMessage[], from: number, to: number) {
  const records = new Array<IncomingRecord>(to - from)
  for (let j = from; j < to; j++) records[j - from] = incoming(topic, partition, messages[j]!)
  return records
}

/**
 * A kafkajs consumer-group member. kafkajs fetches, the group's assignor spreads partitions, and the broker fences
 * commits by generation; this class cuts kafkajs batches to maxBatchSize, tracks whether a batch is still ours and
 * moves kafkajs's fetch position only past records the SDK was handed while it still owned them.
 */
export class KafkaConsumer implements BackendConsumer {
  /** Bumped whenever the group rebalanced, a commit was fenced or kafkajs crashed: batches of an older epoch are no longer active. */
  private epoch = 0
  private rejoin: unknown
  /** The member id of the last join: kafkajs rejoins under a new one, without REBALANCING, once the coordinator forgot it. */
  private memberId: string | undefined
  /** Found expelled while a handler held kafkajs up (see watchSession), until the next join. */
  private expelled = false
  private beat: (() => Promise<void>) | undefined
  private watch: NodeJS.Timeout | undefined
  private closing: Promise<void> | undefined
  private started = false
  private commitDirect: ((offsets: OffsetsByTopicPartition) => Promise<void>) | undefined
  /**
   * performance.now() of the last proof that the group still counted this member: a join, a heartbeat or a commit the
   * coordinator accepted. A process frozen past its session timeout (SIGSTOP, a long GC pause) was expelled without
   * knowing it; this is how it finds out before handling another record.
   */
  private alive = 0
  private startFailed: ((error: unknown) => void) | undefined
  /** Set when close() stops waiting for batches in flight: they return to kafkajs without committing. */
  private abandoned = false
  /**
   * The chunks waiting for their handlers, told when close() abandons them (and named when the member finds itself
   * expelled while one hangs). A map rather than a race against one never-settling promise, which would keep a
   * reaction (and its chunk) per chunk for the member's whole life.
   */
  private readonly waiting = new Map<() => void, InFlight>()
  private readonly assignment: Assignment
  /** This member's paused partitions, kept across rebalances (kafkajs keeps them by topic too, until a restart). */
  private readonly paused = new Map<string, TopicPartition>()
  /** Partitions of which kafkajs handed over a batch: their position is kafkajs's and the SDK's commits' from then on. */
  private readonly delivered = new Set<string>()
  /** Where a commit of a batch's last record goes when markers or aborted records end the batch. */
  private readonly tails = new MarkerTails()
  /** Per partition, the offset this member last committed (or read as the group's): where a markers-only fetch may commit from. */
  private readonly committedNext = new Map<string, bigint>()
  /** Per partition, a commit past markers in flight: the partition's next batch waits for it, so commits stay in order. */
  private readonly skipping = new Map<string, Promise<void>>()

  constructor(
    private readonly consumer: KafkaJsConsumer,
    private readonly options: GroupMemberOptions,
    private readonly tuning: KafkaConsumerTuning,
    private readonly context: ErrorContext,
    /** The group's committed positions and the partitions' ends (the backend's admin client). */
    private readonly positions: (groupId: string, topics: string[]) => Promise<GroupPartitionOffset[]>,
    private readonly logger: Logger,
  ) {
    this.assignment = new Assignment(options)
    const { events } = consumer
    consumer.on(events.REBALANCING, () => {
      this.epoch++
      this.assignment.revokeAll()
    })
    consumer.on(events.GROUP_JOIN, (event) => {
      this.epoch++
      // Another member may have committed meanwhile: the group's positions are read again when needed (skipMarkers).
      this.committedNext.clear()
      this.expelled = false
      this.alive = performance.now()
      // kafkajs keeps pauses in its consumer group, which a restart after a crash replaces: apply them at every join.
      this.applyPaused('pause', [...this.paused.values()])
      // A new member id: the coordinator had expelled this one (kafkajs rejoins on UNKNOWN_MEMBER_ID with no
      // REBALANCING), so everything it held was lost, even what the new assignment gives it again.
      const { memberId } = event.payload
      // An error, not a warning: the default logger prints it, and another member may have handled these records too.
      if (this.memberId !== undefined && memberId !== this.memberId && this.assignment.revokeAll().length > 0)
        this.logger.error(
          { groupId: options.groupId, sessionTimeoutMs: options.sessionTimeoutMs },
          `keyed: group '${options.groupId}' had expelled this member (no heartbeat within its sessionTimeoutMs of ${options.sessionTimeoutMs} ms); ` +
            'it joined again as a new member: every partition it held is revoked, then the new assignment is assigned.',
        )
      this.memberId = memberId
      this.assignment.joined(event.payload.memberAssignment)
    })
    consumer.on(events.HEARTBEAT, () => void (this.alive = performance.now()))
    // kafkajs tells of a runner that died only through this event, at any time of the member's life.
    consumer.on(events.CRASH, (event) => {
      // A restart is a new kafkajs consumer group, with a new member id.
      this.memberId = undefined
      this.assignment.revokeAll()
      this.crashed(event.payload.error, event.payload.restart)
    })
    // A fetch of nothing but markers or aborted records never reaches eachBatch: kafkajs moves its position past them
    // by itself but commits nothing (autoCommit is off), so an idle partition would stay behind its end for good.
    // (firstOffset is null for a fetch emptied by compaction, where lastOffset is only the fetch's start.)
    consumer.on(events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, firstOffset, lastOffset } = event.payload
      if (batchSize !== 0 || firstOffset === null) return
      const k = `${topic}\u0000${partition}`
      const run = (this.skipping.get(k) ?? SETTLED)
        .then(() => this.skipMarkers(topic, partition, BigInt(firstOffset), BigInt(lastOffset) + 1n))
        .catch(() => undefined)
      this.skipping.set(k, run)
      void run.then(() => this.skipping.get(k) === run && this.skipping.delete(k))
    })
  }

  async start(): Promise<void> {
    const { consumer, options } = this
    const action = `join consumer group '${options.groupId}'`
    let removeJoin = () => {}
    let timer: NodeJS.Timeout | undefined
    const joined = new Promise<void>((resolve, reject) => {
      removeJoin = consumer.on(consumer.events.GROUP_JOIN, () => resolve())
      this.startFailed = reject
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `no join within ${this.tuning.joinTimeoutMs} ms (rebalanceTimeoutMs); is the group coordinator up?`,
            ),
          ),
        this.tuning.joinTimeoutMs,
      )
    })
    try {
      await consumer.connect()
      for (const s of options.subscriptions)
        await consumer.subscribe({ topics: [s.topic], fromBeginning: s.fromBeginning })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      })
      await joined
      await this.pinStart()
      this.started = true
      this.watch = setInterval(() => this.watchSession(), this.tuning.heartbeatIntervalMs)
      this.watch.unref()
    } catch (error) {
      await consumer.disconnect().catch(() => undefined)
      throw toKeyedError(error, action, this.context)
    } finally {
      clearTimeout(timer)
      removeJoin()
      this.startFailed = undefined
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.set(`${tp.topic}\u0000${tp.partition}`, tp)
    this.applyPaused('pause', partitions)
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(`${tp.topic}\u0000${tp.partition}`)
    this.applyPaused('resume', partitions)
  }

  /** kafkajs's own seek: batches fetched before it are stale (eachBatch stops on them) and the next fetch starts there. */
  seek(position: CommitOffset): void {
    try {
      this.consumer.seek({ topic: position.topic, partition: position.partition, offset: position.offset })
    } catch (error) {
      // Only before run() or between a crash and its restart, when this member owns nothing the SDK could seek.
      if (!/must be called first|not initialized/i.test(String(error))) throw error
    }
  }

  /** kafkajs's native pause stops fetching the partitions while it heartbeats on; it refuses before run(). */
  private applyPaused(how: 'pause' | 'resume', partitions: readonly TopicPartition[]): void {
    if (partitions.length === 0) return
    const byTopic = new Map<string, number[]>()
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
    try {
      this.consumer[how]([...byTopic].map(([topic, list]) => ({ topic, partitions: list })))
    } catch {
      // Not running yet: the next GROUP_JOIN applies the pauses.
    }
  }

  /**
   * The group's start in the partitions it took (startsToPin). kafkajs looks the end up only at its first fetch, after
   * the join: records sent once subscribe() resolved could land before that position and be skipped. So, before
   * start() resolves, the end as of now is committed for every owned partition to pin of which nothing was handed over:
   * kafkajs starts there or earlier, and so does any member that takes the partition later.
   */
  private async pinStart(): Promise<void> {
    const latest = this.options.subscriptions.filter((s) => !s.fromBeginning).map((s) => s.topic)
    if (latest.length === 0) return
    const unstarted = startsToPin(
      this.options.subscriptions,
      await this.positions(this.options.groupId, latest),
    ).filter((p) => this.assignment.has(p.topic, p.partition))
    // Handed over meanwhile: kafkajs's position (at or before this end) and the SDK's commits take it from here.
    const pins = unstarted.filter((p) => !this.delivered.has(`${p.topic}\u0000${p.partition}`))
    if (pins.length === 0) return
    await this.consumer.commitOffsets(pins.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.end })))
  }

  /**
   * A handler that does not settle holds kafkajs up (its fetcher waits for the batch): nothing heartbeats and nothing
   * would hear the coordinator expel the member. So while a batch is in flight and the session has lapsed, ask the
   * coordinator; if the member is gone, its partitions are revoked at once (the handler cannot be stopped, but its batch
   * is no longer active and its commits are fenced) and the batches in flight are named in a warning.
   */
  private watchSession(): void {
    if (this.waiting.size === 0 || this.expelled || this.closing || !this.beat) return
    const { sessionTimeoutMs, groupId } = this.options
    if (performance.now() - this.alive < sessionTimeoutMs + this.tuning.heartbeatIntervalMs) return
    const epoch = this.epoch
    this.beat().catch((error: unknown) => {
      if (this.epoch !== epoch || this.expelled || this.closing || !EXPELLED.has(root(error).type ?? '')) return
      this.epoch++
      this.expelled = true
      this.rejoin = error
      const now = performance.now()
      for (const { records, since } of this.waiting.values()) {
        const { topic, partition, offset: first } = records[0]!
        const last = records[records.length - 1]!.offset
        const offsets = first === last ? `the record at offset ${first}` : `records at offsets ${first}-${last}`
        const ms = Math.round(now - since)
        this.logger.error(
          { groupId, topic, partition, offset: first, lastOffset: last, runningMs: ms, sessionTimeoutMs },
          `keyed: group '${groupId}' expelled this member (no heartbeat within its sessionTimeoutMs of ${sessionTimeoutMs} ms) ` +
            `while a handler of ${topic}[${partition}] had run for ${ms} ms on ${offsets} without settling: it cannot be stopped ` +
            'and may still run while another member handles the partition; every partition of this member is revoked.',
        )
      }
      this.assignment.revokeAll()
    })
  }

  /** kafkajs restarts by itself after errors it calls retriable (restartOnFailure decides); any other crash ends the member. */
  private crashed(error: unknown, restart: boolean): void {
    this.epoch++
    if (restart || this.closing) return
    if (!this.started) return this.startFailed?.(error)
    this.options.onFatal?.(toKeyedError(error, `consume for group '${this.options.groupId}'`, this.context))
  }

  /**
   * Commits past the markers that a fetch found from `first` up to `next`, if the group's position is `first`: then
   * every record before them was handled and committed (kafkajs's own position may be past a record the SDK stopped on).
   */
  private async skipMarkers(topic: string, partition: number, first: bigint, next: bigint): Promise<void> {
    if (this.closing || !this.assignment.has(topic, partition)) return
    const k = `${topic}\u0000${partition}`
    let at = this.committedNext.get(k)
    if (at === undefined) {
      // Not committed by this member since it joined (markers right after the group's position): ask the group.
      const row = (await this.positions(this.options.groupId, [topic])).find((p) => p.partition === partition)
      if (row?.committed === undefined || this.committedNext.has(k)) return
      at = BigInt(row.committed)
    }
    if (at === first) await this.send([{ topic, partition, next }])
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return
    await this.send(
      offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        next: this.tails.next(`${o.topic}\u0000${o.partition}`, o.offset),
      })),
    )
  }

  private async send(offsets: ReadonlyArray<{ topic: string; partition: number; next: bigint }>): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>()
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic)
      if (!partitions) byTopic.set(o.topic, (partitions = []))
      partitions.push({ partition: o.partition, offset: o.next.toString() })
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))
    const epoch = this.epoch
    try {
      const sent = performance.now()
      // The batch's own commit goes straight to the coordinator under this member's generation (no retries, works
      // while closing); consumer.commitOffsets would retry fenced commits and skip them silently once stopping.
      if (this.commitDirect) await this.commitDirect({ topics })
      else await this.consumer.commitOffsets(topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p }))))
      // Accepted under our generation: the member was alive when the request was sent.
      this.alive = Math.max(this.alive, sent)
      if (this.epoch === epoch)
        for (const o of offsets) this.committedNext.set(`${o.topic}\u0000${o.partition}`, o.next)
    } catch (error) {
      const keyed = toKeyedError(error, `commit offsets of group '${this.options.groupId}'`, this.context)
      if (isKeyedError(keyed, 'FENCED')) {
        this.epoch++
        this.rejoin = error
      }
      throw keyed
    }
  }

  /**
   * Waits up to closeTimeoutMs for the batches in flight (a handler that never settles would hold kafkajs's stop
   * forever), then abandons them uncommitted and leaves the group; at most LEAVE_TIMEOUT_MS more for that. Concurrent
   * calls share one outcome.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.watch)
      const disconnected = this.consumer.disconnect().catch(() => undefined)
      // Handlers in flight get the consumer's closeTimeoutMs: the SDK makes them return by then, and abandoning them
      // sooner would leave records running after close() resolved, committed by no one. An idle member only has to
      // leave the group, within this backend's own bound (brokers that do not answer must not stretch it).
      const wait =
        this.waiting.size > 0
          ? Math.max(this.tuning.closeTimeoutMs, this.options.closeTimeoutMs ?? 0)
          : this.tuning.closeTimeoutMs
      if ((await within(disconnected, wait)) !== 'timeout') return
      this.abandoned = true
      for (const stop of this.waiting.keys()) stop()
      await within(disconnected, LEAVE_TIMEOUT_MS)
    })().finally(() => this.assignment.revokeAll())
    return this.closing
  }

  /** Settles with the handlers' batch, or with 'abandoned' as soon as close() gives up on it. */
  private unlessAbandoned(
    handled: Promise<void>,
    records: readonly IncomingRecord[],
  ): Promise<'handled' | 'abandoned'> {
    if (this.abandoned) return Promise.resolve('abandoned')
    return new Promise((resolve, reject) => {
      const stop = () => resolve('abandoned')
      this.waiting.set(stop, { records, since: performance.now() })
      handled.finally(() => this.waiting.delete(stop)).then(() => resolve('handled'), reject)
    })
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    // Taken from every batch: after a kafkajs restart (crash recovery) only the newest runner's group is current.
    this.commitDirect = (offsets) => payload.commitOffsetsIfNecessary(offsets)
    this.beat = payload.heartbeat
    const { batch } = payload
    const { topic, partition } = batch
    const k = `${topic}\u0000${partition}`
    if (!this.started) this.delivered.add(k)
    // A commit past markers before this batch lands first.
    const skipping = this.skipping.get(k)
    if (skipping) await skipping
    const epoch = this.epoch
    let lost: unknown
    // The broker expels a member whose last heartbeat is a session timeout old; we stop a heartbeat interval sooner,
    // so that a heartbeat answered late still leaves this side first.
    const expiry = this.options.sessionTimeoutMs - this.tuning.heartbeatIntervalMs
    // The SDK asks before every record; kafkajs's staleness lookup is paid once per chunk, the rest is field reads.
    let fresh = true
    // The clock is read where time can have passed unseen: on the first call after the process waited (a handler
    // awaited: a freeze lands there, or in kafkajs's fetch) and every CLOCK_EVERY calls within a stretch of records
    // handled synchronously (a freeze inside one lets at most that many more start). `timed` is how many calls may
    // still skip the clock; a reaction queued at the read zeroes it once this synchronous stretch ends.
    let timed = 0
    const waited = () => void (timed = 0)
    const isActive = () => {
      if (!fresh || this.closing || lost !== undefined || this.epoch !== epoch) return false
      if (timed > 0) {
        timed--
        return true
      }
      const age = performance.now() - this.alive
      if (age >= expiry) return false
      // A slow handler gets no heartbeat from kafkajs's loop: keep the session alive from here (kafkajs sends at most one per interval).
      if (age >= this.tuning.heartbeatIntervalMs) heartbeat().catch(() => undefined)
      timed = CLOCK_EVERY - 1
      void SETTLED.then(waited)
      return true
    }
    const heartbeat = async () => {
      try {
        await payload.heartbeat()
      } catch (error) {
        const keyed = toKeyedError(error, `keep group '${this.options.groupId}' membership alive`, this.context)
        if (isKeyedError(keyed, 'FENCED')) lost = error
        throw keyed
      }
    }
    const size = this.options.maxBatchSize
    const messages = batch.messages
    this.tails.batch(k, messages[messages.length - 1]?.offset, BigInt(batch.lastOffset()) + 1n)
    for (
      let i = 0;
      i < messages.length && (fresh = payload.isRunning() && !payload.isStale()) && isActive();
      i += size
    ) {
      const end = Math.min(i + size, messages.length)
      const records = incomingRange(topic, partition, messages, i, end)
      const handled = this.options.onBatch({ topic, partition, records, isActive, heartbeat })
      // A closing member stops waiting for a handler that does not settle; what it handled is not committed.
      if ((await this.unlessAbandoned(handled, records)) === 'abandoned') return
      // Sought (seek() or a pause's rewind): kafkajs's next fetch starts at the seek, not past this chunk.
      if (!isActive() || payload.isStale()) break
      payload.resolveOffset(messages[end - 1]!.offset)
      if (end < messages.length) await heartbeat().catch(() => undefined)
    }
    // Rethrowing a rebalance error makes kafkajs rejoin now instead of at its next heartbeat.
    const reason = lost ?? (this.epoch !== epoch ? this.rejoin : undefined)
    if (reason !== undefined && this.started && !this.closing) {
      this.rejoin = undefined
      throw reason
    }
  }
}
