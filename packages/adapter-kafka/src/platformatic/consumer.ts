import { performance } from 'node:perf_hooks'
import type { BackendConsumer, CommitOffset, GroupMemberOptions, IncomingRecord } from '@keyed/sdk/backend'
import { isKeyedError } from '@keyed/sdk/backend'
import type { Consumer, ConsumerGroupJoinPayload, ConsumerOptions } from '@platformatic/kafka'
import { LEAVE_TIMEOUT_MS, within } from '../bounded.js'
import { toKeyedError, type ErrorContext } from '../errors.js'
import { platformaticChain } from './errors.js'
import { FetchLoop, type Position } from './fetch-loop.js'
import { platformatic } from './lib.js'

export interface PlatformaticConsumerTuning {
  readonly base: Omit<ConsumerOptions<Buffer, Buffer, Buffer, Buffer>, 'groupId'>
  readonly joinTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly maxWaitTimeMs: number
  readonly closeTimeoutMs: number
}

interface Owned extends Position {
  /** The rebalance epoch the partition was assigned in. */
  readonly epoch: number
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * A consumer-group member on @platformatic/kafka (classic protocol, eager). The client keeps the membership
 * (heartbeats on its own timer, so slow handlers keep their session); this class fetches, hands batches over and
 * commits. Two things differ from the client's defaults on purpose:
 * - **Rebalances wait for batches in flight.** The client rejoins the moment a heartbeat hears of a rebalance; the
 *   `protocolsMetadata` hook, which it awaits before sending JoinGroup, holds the rejoin until the batches in flight
 *   settled (within the rebalance timeout), as Java's onPartitionsRevoked does. So a partition is never handled by
 *   two members at once, and the batch's commit still lands under the old generation.
 * - **Commits go straight to the coordinator**, under the generation the member has: the client's own commit rejoins
 *   the group and commits again when fenced, which would overwrite the new owner's position.
 */
export class PlatformaticConsumer implements BackendConsumer {
  private consumer: Consumer | undefined
  private readonly owned = new Map<string, Owned>()
  private readonly inFlight = new Set<Promise<void>>()
  private epoch = 0
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
  /** Assignments arrive with each join; the next one waits for the previous to be applied. */
  private assigning: Promise<void> = Promise.resolve()

  constructor(
    private readonly options: GroupMemberOptions,
    private readonly tuning: PlatformaticConsumerTuning,
    private readonly context: ErrorContext,
  ) {}

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
      protocolsMetadata: () => this.revokeAll(),
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
      () => this.owned.values(),
      (position, records, next) => this.handle(position as Owned, records, next),
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

  /** Before each (re)join: nothing new starts, and the batches in flight settle (bounded by the rebalance timeout). */
  private async revokeAll(): Promise<Buffer> {
    this.epoch++
    this.owned.clear()
    if (this.inFlight.size > 0)
      await within(Promise.allSettled([...this.inFlight]), Math.max(0, this.tuning.rebalanceTimeoutMs - 1000))
    return Buffer.alloc(0)
  }

  /** After a join: the partitions assigned, from the group's committed positions (or the subscription's start). */
  private async assign(payload: ConsumerGroupJoinPayload): Promise<void> {
    const consumer = this.consumer!
    const epoch = this.epoch
    const assigned = (payload.assignments ?? consumer.assignments ?? []).filter(
      (a) => this.subscription(a.topic) && a.partitions.length > 0,
    )
    if (assigned.length === 0) return
    const topics = assigned.map((a) => a.topic)
    const committed = await consumer.listCommittedOffsets({
      topics: assigned.map((a) => ({ topic: a.topic, partitions: a.partitions })),
    })
    const missing = new Map<string, number[]>()
    for (const a of assigned)
      for (const p of a.partitions)
        if ((committed.get(a.topic)?.[p] ?? -1n) < 0n) missing.set(a.topic, [...(missing.get(a.topic) ?? []), p])
    const starts = new Map<string, bigint>()
    for (const [topic, partitions] of missing) {
      const lib = await platformatic()
      const offsets = await consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: partitions },
        timestamp: this.subscription(topic)!.fromBeginning
          ? lib.ListOffsetTimestamps.EARLIEST
          : lib.ListOffsetTimestamps.LATEST,
      })
      for (const p of partitions) starts.set(key(topic, p), offsets.get(topic)?.[p] ?? 0n)
    }
    // A newer rebalance began while the offsets were read: its own join assigns again.
    if (epoch !== this.epoch) return
    for (const a of assigned)
      for (const partition of a.partitions) {
        const next = starts.get(key(a.topic, partition)) ?? committed.get(a.topic)![partition]!
        this.owned.set(key(a.topic, partition), { topic: a.topic, partition, next, busy: false, epoch })
      }
    void topics
    this.loop?.wake()
  }

  private handle(position: Owned, records: IncomingRecord[], next: bigint): Promise<void> {
    const run = this.handleNow(position, records, next)
    this.inFlight.add(run)
    return run.finally(() => this.inFlight.delete(run))
  }

  private async handleNow(position: Owned, records: IncomingRecord[], next: bigint): Promise<void> {
    const { topic, partition, epoch } = position
    const expiry =
      this.options.sessionTimeoutMs - Math.min(this.options.heartbeatIntervalMs, this.options.sessionTimeoutMs / 3)
    const isActive = () => {
      if (this.closing || this.epoch !== epoch || this.owned.get(key(topic, partition)) !== position) return false
      // A process frozen past its session timeout was expelled without knowing it: stop before the next record.
      return performance.now() - this.alive < expiry
    }
    const size = this.options.maxBatchSize
    for (let i = 0; i < records.length && isActive(); i += size) {
      const chunk = records.length <= size ? records : records.slice(i, i + size)
      await this.options.onBatch({ topic, partition, records: chunk, isActive, heartbeat: () => Promise.resolve() })
      if (!isActive()) return
      position.next = i + size >= records.length ? next : BigInt(chunk[chunk.length - 1]!.offset) + 1n
    }
    if (records.length === 0 && isActive()) position.next = next
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return
    const consumer = this.consumer!
    const byTopic = new Map<
      string,
      Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
    >()
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic)
      if (!partitions) byTopic.set(o.topic, (partitions = []))
      // Kafka's committed offset is the next one to read.
      partitions.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset) + 1n, committedLeaderEpoch: -1 })
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
    } catch (error) {
      const keyed = this.error(error, `commit offsets of group '${this.options.groupId}'`)
      if (isKeyedError(keyed, 'FENCED')) this.epoch++
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
      await within(Promise.allSettled([stopped, ...this.inFlight]), wait)
      // Leaves the group (LeaveGroup) and closes connections; a broker that does not answer must not hold close().
      await within(
        consumer.close(true).catch(() => undefined),
        LEAVE_TIMEOUT_MS,
      )
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
  const coordinator = await consumer.findGroupCoordinator()
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
