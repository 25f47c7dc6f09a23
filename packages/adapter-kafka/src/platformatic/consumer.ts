import { performance } from 'node:perf_hooks'
import type {
  BackendConsumer,
  CommitOffset,
  GroupMemberOptions,
  IncomingRecord,
  TopicPartition,
} from '@keyed/sdk/backend'
import { isKeyedError } from '@keyed/sdk/backend'
import type { Consumer, ConsumerGroupJoinPayload, ConsumerOptions } from '@platformatic/kafka'
import { Assignment } from '../assignment.js'
import { LEAVE_TIMEOUT_MS, within } from '../bounded.js'
import { toKeyedError, type ErrorContext } from '../errors.js'
import { MarkerTails } from '../marker-tails.js'
import { startsToPin } from '../start-pin.js'
import { platformaticChain } from './errors.js'
import { FetchLoop, type Position } from './fetch-loop.js'
import { platformatic } from './lib.js'

export interface PlatformaticConsumerTuning {
  readonly base: Omit<ConsumerOptions<Buffer, Buffer, Buffer, Buffer>, 'groupId'>
  readonly joinTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly maxWaitTimeMs: number
  readonly closeTimeoutMs: number
  /** 'cooperative': the classic protocol with the cooperative-sticky assignor (KIP-429); 'eager': round robin, all revoked. */
  readonly rebalance: 'cooperative' | 'eager'
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * A consumer-group member on @platformatic/kafka (classic protocol). The client keeps the membership (heartbeats on
 * its own timer, so slow handlers keep their session); this class fetches, hands batches over and commits. Three
 * things differ from the client's defaults on purpose:
 * - **Cooperative rebalancing** (KIP-429, the cooperative-sticky assignor) by default: a member keeps handling the
 *   partitions it keeps while the group rebalances; only partitions that move stop, and only on the member losing them.
 * - **A partition moves only after its batch in flight settled.** The client rejoins the moment it learns of a
 *   rebalance (eager) or of a revocation (cooperative, between the two rounds); the `protocolsMetadata` hook, which it
 *   awaits before each JoinGroup, holds that JoinGroup until the batches of the partitions being given up settled
 *   (within the rebalance timeout), as Java's onPartitionsRevoked does. So a partition is never handled by two members
 *   at once, and its last commit still lands under the generation that owned it.
 * - **Commits go straight to the coordinator**, once, under the member's generation: the client's own commit rejoins
 *   the group and commits again when fenced, which would overwrite the new owner's position.
 */
export class PlatformaticConsumer implements BackendConsumer {
  private consumer: Consumer | undefined
  private readonly owned = new Map<string, Position>()
  /** Per partition, its batch being handled; a partition is handed over (or taken up again) only after it settled. */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** What onAssigned/onRevoked told the SDK this member holds. */
  private readonly assignment: Assignment
  private loop: FetchLoop | undefined
  private closing: Promise<void> | undefined
  private started = false
  /**
   * performance.now() of the last proof that the group still counted this member: a join, or the *sending* of a
   * heartbeat the coordinator then accepted. Not the answer's arrival: a process frozen right after sending reads a
   * stale success on waking, which would make it look alive while the group has already given its partitions away.
   */
  private alive = 0
  private heartbeatSent = 0
  /** This member's paused partitions, kept across rebalances. */
  private readonly paused = new Set<string>()
  /** Seeks asked while the partition's batch is being handled: applied when its onBatch call returns. */
  private readonly seeks = new Map<string, bigint>()
  /** Where a commit of a batch's last record goes when markers or aborted records end the batch. */
  private readonly tails = new MarkerTails()
  /** Per partition, the offset the group's position is known to be at (this member's last commit, or read at the join). */
  private readonly committedNext = new Map<string, bigint>()
  /** Assignments arrive with each join; the next one waits for the previous to be applied. */
  private assigning: Promise<void> = Promise.resolve()
  /** The start positions of an assignment being looked up and pinned (startsToPin). */
  private pinning: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly options: GroupMemberOptions,
    private readonly tuning: PlatformaticConsumerTuning,
    private readonly context: ErrorContext,
  ) {
    this.assignment = new Assignment(options)
  }

  private error(error: unknown, action: string) {
    return toKeyedError(error, action, this.context, platformaticChain)
  }

  async start(): Promise<void> {
    const { options, tuning } = this
    const action = `join consumer group '${options.groupId}'`
    const lib = await platformatic()
    const consumer = new lib.Consumer({
      ...tuning.base,
      groupId: options.groupId,
      autocommit: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1, Math.min(options.heartbeatIntervalMs, Math.floor(options.sessionTimeoutMs / 3))),
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTime: tuning.maxWaitTimeMs,
      isolationLevel: lib.FetchIsolationLevels.READ_COMMITTED,
      protocols: [{ name: tuning.rebalance === 'cooperative' ? 'cooperative-sticky' : 'roundrobin', version: 1 }],
      protocolsMetadata: () => this.beforeJoin(),
    })
    this.consumer = consumer
    consumer.on('consumer:heartbeat:start', () => void (this.heartbeatSent = performance.now()))
    consumer.on('consumer:heartbeat:end', () => void (this.alive = Math.max(this.alive, this.heartbeatSent)))
    consumer.on('consumer:group:join', (payload) => {
      this.alive = performance.now()
      this.assigning = this.assigning.then(() => this.assign(payload)).catch((error: unknown) => this.fatal(error))
    })
    consumer.on('error', (error: unknown) => this.fatal(error))
    for (const s of options.subscriptions) consumer.topics.track(s.topic)
    this.loop = new FetchLoop(
      consumer,
      new lib.ConnectionPool(consumer.clientId, { ...consumer[lib.kOptions] }),
      // Paused partitions are not fetched; the client's own heartbeats keep the membership meanwhile.
      () => [...this.owned.values()].filter((p) => !this.paused.has(key(p.topic, p.partition))),
      (position, records, next) => this.handle(position, records, next),
      {
        maxWaitTimeMs: tuning.maxWaitTimeMs,
        partitionMaxBytes: 1024 * 1024,
        resetTo: (p) => (this.subscription(p.topic)?.fromBeginning ? 'earliest' : 'latest'),
      },
      (error) => this.fatal(error),
    )
    try {
      const joined = await within(consumer.joinGroup({}), tuning.joinTimeoutMs)
      if (joined === 'timeout')
        throw new Error(`no join within ${tuning.joinTimeoutMs} ms (rebalanceTimeoutMs); is the group coordinator up?`)
      await this.assigning
      this.started = true
      this.loop.start()
    } catch (error) {
      await within(
        consumer.close(true).catch(() => undefined),
        LEAVE_TIMEOUT_MS,
      )
      throw this.error(error, action)
    }
  }

  private subscription(topic: string) {
    return this.options.subscriptions.find((s) => s.topic === topic)
  }

  private fatal(error: unknown): void {
    if (this.closing || !this.started) return
    this.options.onFatal?.(this.error(error, `consume for group '${this.options.groupId}'`))
  }

  /**
   * Before each JoinGroup: the partitions this member gives up (eager: all; cooperative: those the last assignment no
   * longer lists) stop, their batches in flight settle (bounded by the rebalance timeout), and onRevoked tells the SDK.
   */
  private async beforeJoin(): Promise<Buffer> {
    const keep = new Set<string>()
    if (this.tuning.rebalance === 'cooperative')
      for (const a of this.consumer?.assignments ?? []) for (const p of a.partitions) keep.add(key(a.topic, p))
    const leaving = [...this.owned.keys()].filter((k) => !keep.has(k))
    for (const k of leaving) this.owned.delete(k)
    await this.settled(leaving)
    // A pin lands before this JoinGroup: under the next generation the coordinator would refuse it.
    await within(this.pinning, Math.max(0, this.tuning.rebalanceTimeoutMs - 1000))
    const remaining: Record<string, number[]> = {}
    for (const p of this.owned.values()) (remaining[p.topic] ??= []).push(p.partition)
    this.assignment.joined(remaining)
    return Buffer.alloc(0)
  }

  /** The batches in flight of these partitions (all of them when not given), within the rebalance timeout. */
  private async settled(keys?: readonly string[]): Promise<void> {
    const waiting = (keys ?? [...this.inFlight.keys()])
      .map((k) => this.inFlight.get(k))
      .filter((p): p is Promise<void> => p !== undefined)
    if (waiting.length > 0)
      await within(Promise.allSettled(waiting), Math.max(0, this.tuning.rebalanceTimeoutMs - 1000))
  }

  /** After a join: partitions new to this member start at the group's committed positions (or the subscription's start). */
  private async assign(payload: ConsumerGroupJoinPayload): Promise<void> {
    const consumer = this.consumer!
    const assigned = new Map<string, { topic: string; partition: number }>()
    for (const a of payload.assignments ?? consumer.assignments ?? [])
      if (this.subscription(a.topic))
        for (const partition of a.partitions) assigned.set(key(a.topic, partition), { topic: a.topic, partition })
    // What this member held and the join did not give it again (a rejoin the client made by itself) stops first.
    const gone = [...this.owned.keys()].filter((k) => !assigned.has(k))
    for (const k of gone) this.owned.delete(k)
    const added = [...assigned].filter(([k]) => !this.owned.has(k)).map(([, tp]) => tp)
    if (added.length > 0) {
      const starting = this.starts(added)
      this.pinning = starting.catch(() => undefined)
      const starts = await starting
      // A partition this member held before (a fenced commit dropped it) is taken up only after its old batch settled.
      await this.settled(added.map((tp) => key(tp.topic, tp.partition)))
      for (const { topic, partition } of added) {
        const k = key(topic, partition)
        // Given away again while the offsets were read: the next join says what this member holds.
        if (!this.currentlyAssigned(topic, partition)) continue
        this.owned.set(k, { topic, partition, next: starts.get(k) ?? 0n, busy: false })
      }
    }
    const holding: Record<string, number[]> = {}
    for (const p of this.owned.values()) (holding[p.topic] ??= []).push(p.partition)
    this.assignment.joined(holding)
    this.loop?.wake()
  }

  /**
   * Where the partitions new to this member start: the group's committed positions, else the subscription's start; a
   * partition's end is committed before any record of it is handed over (startsToPin), since it is the group's start.
   */
  private async starts(added: ReadonlyArray<{ topic: string; partition: number }>): Promise<Map<string, bigint>> {
    const consumer = this.consumer!
    const byTopic = new Map<string, number[]>()
    for (const { topic, partition } of added) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
    const committed = await consumer.listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    })
    const known = (topic: string, p: number) => {
      const offset = committed.get(topic)?.[p]
      // -1: the group has no position in the partition.
      return offset !== undefined && offset >= 0n ? offset : undefined
    }
    const starts = new Map<string, bigint>()
    const lib = await platformatic()
    for (const [topic, partitions] of byTopic) {
      const missing = partitions.filter((p) => known(topic, p) === undefined)
      for (const p of partitions) if (!missing.includes(p)) starts.set(key(topic, p), known(topic, p)!)
      for (const p of partitions)
        if (missing.includes(p)) this.committedNext.delete(key(topic, p))
        else this.committedNext.set(key(topic, p), known(topic, p)!)
      if (missing.length === 0) continue
      const offsets = await consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: missing },
        timestamp: this.subscription(topic)!.fromBeginning
          ? lib.ListOffsetTimestamps.EARLIEST
          : lib.ListOffsetTimestamps.LATEST,
      })
      for (const p of missing) starts.set(key(topic, p), offsets.get(topic)?.[p] ?? 0n)
    }
    const pins = new Map<string, CommitTopic['partitions']>()
    for (const p of startsToPin(
      this.options.subscriptions,
      added.map((tp) => ({ ...tp, committed: known(tp.topic, tp.partition) })),
    )) {
      const start = {
        partitionIndex: p.partition,
        committedOffset: starts.get(key(p.topic, p.partition))!,
        committedLeaderEpoch: -1,
      }
      pins.set(p.topic, [...(pins.get(p.topic) ?? []), start])
    }
    if (pins.size > 0)
      try {
        await commitDirect(
          consumer,
          [...pins].map(([name, partitions]) => ({ name, partitions })),
          consumer.generationId,
          consumer.memberId ?? '',
        )
        for (const [topic, partitions] of pins)
          for (const p of partitions) this.committedNext.set(key(topic, p.partitionIndex), p.committedOffset)
      } catch (error) {
        // The group moved on meanwhile (this member was expelled): the join that follows assigns again.
        if (!isKeyedError(this.error(error, `pin the start of group '${this.options.groupId}'`), 'FENCED')) throw error
      }
    return starts
  }

  private currentlyAssigned(topic: string, partition: number): boolean {
    return (this.consumer?.assignments ?? []).some((a) => a.topic === topic && a.partitions.includes(partition))
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(key(tp.topic, tp.partition))
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(key(tp.topic, tp.partition))
    this.loop?.wake()
  }

  /** An idle partition moves at once (a fetch in flight for the old position is dropped); a busy one after its batch. */
  seek(position: CommitOffset): void {
    const k = key(position.topic, position.partition)
    const owned = this.owned.get(k)
    if (!owned) return
    const next = BigInt(position.offset)
    if (owned.busy) this.seeks.set(k, next)
    else {
      owned.next = next
      this.loop?.wake()
    }
  }

  private handle(position: Position, records: IncomingRecord[], next: bigint): Promise<void> {
    const k = key(position.topic, position.partition)
    const run = this.handleNow(position, records, next)
    const tracked = run.finally(() => {
      if (this.inFlight.get(k) === tracked) this.inFlight.delete(k)
    })
    this.inFlight.set(k, tracked)
    return tracked
  }

  private async handleNow(position: Position, records: IncomingRecord[], next: bigint): Promise<void> {
    const { topic, partition } = position
    const k = key(topic, partition)
    const expiry =
      this.options.sessionTimeoutMs - Math.min(this.options.heartbeatIntervalMs, this.options.sessionTimeoutMs / 3)
    const isActive = () =>
      // A process frozen past its session timeout was expelled without knowing it: stop before the next record.
      !this.closing && this.owned.get(k) === position && performance.now() - this.alive < expiry
    const size = this.options.maxBatchSize
    this.tails.batch(k, records[records.length - 1]?.offset, next)
    for (let i = 0; i < records.length && isActive(); i += size) {
      const chunk = records.length <= size ? records : records.slice(i, i + size)
      await this.options.onBatch({ topic, partition, records: chunk, isActive, heartbeat: () => Promise.resolve() })
      const sought = this.seeks.get(k)
      if (sought !== undefined) {
        this.seeks.delete(k)
        if (this.owned.get(k) === position) position.next = sought
        return
      }
      if (!isActive()) return
      position.next = i + size >= records.length ? next : BigInt(chunk[chunk.length - 1]!.offset) + 1n
    }
    if (records.length === 0 && isActive()) {
      // Nothing but markers or aborted records: commit past them when the group's position is where they start, so
      // every record before them was handled and committed (position.next may be past a record the SDK stopped on).
      if (this.committedNext.get(k) === position.next)
        await this.send([{ topic, partition, next }]).catch(() => undefined)
      position.next = next
    }
  }

  /**
   * A commit refused as fenced. Cooperative: a refusal during or right after a rebalance (REBALANCE_IN_PROGRESS,
   * ILLEGAL_GENERATION) leaves the member its partitions; they go on and the next commit covers these records. Only a
   * member the group no longer knows stops. Eager (or gone): every partition stops, and is taken up again from the
   * group's committed positions once the client is a member again, also when no further join follows (a stale commit
   * answered after the join: before, its partitions stayed idle until the next rebalance, 11.6 s in
   * bench:kafka-rebalance, and their last records were handled twice).
   */
  private fenced(error: unknown): void {
    const types = new Set(platformaticChain(error).map((e) => e.type))
    const gone = types.has('UNKNOWN_MEMBER_ID') || types.has('FENCED_INSTANCE_ID')
    if (this.tuning.rebalance === 'cooperative' && !gone) return
    this.owned.clear()
    this.assigning = this.assigning
      .then(async () => {
        const consumer = this.consumer!
        const deadline = performance.now() + this.tuning.rebalanceTimeoutMs
        while (!this.closing && !consumer.isActive() && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 100))
        if (!this.closing && consumer.isActive())
          await this.assign({
            groupId: consumer.groupId,
            memberId: consumer.memberId ?? '',
            assignments: consumer.assignments ?? [],
          })
      })
      .catch((e: unknown) => this.fatal(e))
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return
    await this.send(
      offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        next: this.tails.next(key(o.topic, o.partition), o.offset),
      })),
    )
  }

  private async send(offsets: ReadonlyArray<{ topic: string; partition: number; next: bigint }>): Promise<void> {
    const consumer = this.consumer!
    const byTopic = new Map<
      string,
      Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
    >()
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic)
      if (!partitions) byTopic.set(o.topic, (partitions = []))
      partitions.push({ partitionIndex: o.partition, committedOffset: o.next, committedLeaderEpoch: -1 })
    }
    const generation = consumer.generationId
    const memberId = consumer.memberId ?? ''
    try {
      await commitDirect(
        consumer,
        [...byTopic].map(([name, partitions]) => ({ name, partitions })),
        generation,
        memberId,
      )
      for (const o of offsets) this.committedNext.set(key(o.topic, o.partition), o.next)
    } catch (error) {
      const keyed = this.error(error, `commit offsets of group '${this.options.groupId}'`)
      if (isKeyedError(keyed, 'FENCED')) this.fenced(error)
      throw keyed
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const consumer = this.consumer
      if (!consumer) return
      const stopped = this.loop?.stop() ?? Promise.resolve()
      const wait =
        this.inFlight.size > 0
          ? Math.max(this.tuning.closeTimeoutMs, this.options.closeTimeoutMs ?? 0)
          : this.tuning.closeTimeoutMs
      await within(Promise.allSettled([stopped, ...this.inFlight.values()]), wait)
      // Leaves the group (LeaveGroup) and closes connections; a broker that does not answer must not hold close().
      await within(
        consumer.close(true).catch(() => undefined),
        LEAVE_TIMEOUT_MS,
      )
      this.assignment.revokeAll()
    })()
    return this.closing
  }
}

interface CommitTopic {
  readonly name: string
  readonly partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
}

/** OffsetCommit to the group's coordinator under `generation`, once: a fenced answer is the caller's to handle. */
async function commitDirect(
  consumer: Consumer,
  topics: CommitTopic[],
  generation: number,
  memberId: string,
): Promise<void> {
  const lib = await platformatic()
  // The client keeps the coordinator it found when joining; asking again would cost a round trip per commit.
  const coordinator = consumer.coordinatorId ?? (await consumer.findGroupCoordinator())
  const metadata = await consumer.metadata({ topics: topics.map((t) => t.name) })
  const broker = metadata.brokers.get(coordinator)
  if (!broker) throw new Error(`the group coordinator (node ${coordinator}) is not in the cluster's metadata`)
  await new Promise<void>((resolve, reject) => {
    consumer[lib.kGetConnection](broker, (error, connection) => {
      if (error) return reject(asError(error))
      consumer[lib.kGetApi]<unknown[], unknown>('OffsetCommit', (error, api) => {
        if (error || !api) return reject(error instanceof Error ? error : new Error('no OffsetCommit API'))
        api(connection!, consumer.groupId, generation, memberId, null, topics, (error: unknown) =>
          error ? reject(asError(error)) : resolve(),
        )
      })
    })
  })
}

const asError = (e: unknown): Error =>
  e instanceof Error ? e : new Error(typeof e === 'string' ? e : 'OffsetCommit failed')
