import { assignPartitions, FencedError, type GroupMemberOptions, type TopicPartition } from '@keyed/sdk/backend'
import type { PartitionLog } from './log.js'

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

export interface GroupHost {
  partitionsOf(topic: string): PartitionLog[]
}

/** A consumer group with eager rebalancing: every member stops and finishes its batches before partitions move. */
export class Group {
  private readonly members = new Map<string, Member>()
  /** Next offset to read per partition. */
  readonly committed = new Map<string, number>()
  private rebalancing: Promise<void> = Promise.resolve()

  constructor(
    readonly id: string,
    private readonly host: GroupHost,
  ) {}

  join(member: Member): Promise<void> {
    this.members.set(member.id, member)
    return this.rebalance()
  }

  /** The member keeps its partitions until its batches in flight finished and committed. */
  leave(member: Member): Promise<void> {
    return this.rebalance(member)
  }

  commit(member: Member, topic: string, partition: number, offset: number): void {
    if (!member.owns(topic, partition)) {
      throw new FencedError(
        `Member ${member.id} of group '${this.id}' no longer owns ${topic}[${partition}]; the commit was refused and the new owner resumes from the last commit.`,
      )
    }
    this.committed.set(tpKey(topic, partition), offset + 1)
  }

  /** Members that joined and have not left (or been expelled). */
  get size(): number {
    return this.members.size
  }

  /** An admin's reset: the next offset the group reads in the partition. */
  reset(topic: string, partition: number, next: number): void {
    this.committed.set(tpKey(topic, partition), next)
  }

  committedOffset(topic: string, partition: number): number | undefined {
    return this.committed.get(tpKey(topic, partition))
  }

  /**
   * A member stuck in a batch past its session timeout is treated like one that stopped heartbeating: it leaves
   * the group, its partitions move on, and whatever it commits later is fenced.
   */
  private async revokeOrExpel(member: Member): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(true), member.options.sessionTimeoutMs)),
    )
    const stuck = await Promise.race([member.revokeAll().then(() => false), expired])
    clearTimeout(timer)
    if (stuck) {
      member.expel()
      this.members.delete(member.id)
    }
  }

  /** Serialized: one rebalance at a time, each from the membership current when it runs. */
  private rebalance(leaving?: Member): Promise<void> {
    const run = this.rebalancing.then(async () => {
      await Promise.all([...this.members.values()].map((m) => this.revokeOrExpel(m)))
      if (leaving) this.members.delete(leaving.id)
      const byTopic = new Map<string, string[]>()
      for (const m of this.members.values()) {
        for (const s of m.options.subscriptions) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), m.id])
      }
      const plan = new Map<string, TopicPartition[]>()
      for (const [topic, ids] of byTopic) {
        const partitions = this.host.partitionsOf(topic).map((log) => ({ topic, partition: log.partition }))
        for (const [id, tps] of assignPartitions(ids, partitions)) plan.set(id, [...(plan.get(id) ?? []), ...tps])
      }
      for (const m of this.members.values()) m.assign(plan.get(m.id) ?? [])
    })
    this.rebalancing = run.catch(() => undefined)
    return run
  }
}

interface Fetcher {
  readonly topic: string
  readonly partition: number
  active: boolean
  /** Where seek() moved the next read, applied before it. */
  seekTo: number | undefined
  /** onRevoked was called for it. */
  reported: boolean
  cancelWait: (() => void) | undefined
  done: Promise<void>
}

/** One member's view: a fetch loop per owned partition, each handing batches to the SDK one at a time. */
export class Member {
  private fetchers: Fetcher[] = []
  /** Paused partitions by tpKey: this member's, kept across rebalances. */
  private readonly paused = new Set<string>()

  constructor(
    readonly id: string,
    readonly options: GroupMemberOptions,
    private readonly group: Group,
    private readonly host: GroupHost,
  ) {}

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp.topic, tp.partition))
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      this.paused.delete(tpKey(tp.topic, tp.partition))
      this.fetcher(tp.topic, tp.partition)?.cancelWait?.()
    }
  }

  /** The next read of the partition starts at the offset (ignored for a partition not owned). */
  seek(topic: string, partition: number, offset: number): void {
    const f = this.fetcher(topic, partition)
    if (!f) return
    f.seekTo = offset
    f.cancelWait?.()
  }

  private fetcher(topic: string, partition: number): Fetcher | undefined {
    return this.fetchers.find((f) => f.topic === topic && f.partition === partition)
  }

  owns(topic: string, partition: number): boolean {
    return this.fetchers.some((f) => f.topic === topic && f.partition === partition)
  }

  /** Stops every fetch loop and waits for the batches in flight, which may still commit: the partitions stay owned until then. */
  async revokeAll(): Promise<void> {
    const fetchers = this.fetchers
    for (const f of fetchers) {
      f.active = false
      f.cancelWait?.()
    }
    await Promise.all(fetchers.map((f) => f.done))
    this.fetchers = []
    this.revoked(fetchers)
  }

  /** Forgets every partition at once; the batches still running find themselves inactive and their commits fenced. */
  expel(): void {
    const fetchers = this.fetchers
    for (const f of fetchers) f.active = false
    this.fetchers = []
    this.revoked(fetchers)
  }

  /** Reports each partition once: an expelled member's revokeAll still ends after its batch returned. */
  private revoked(fetchers: readonly Fetcher[]): void {
    const gone = fetchers.filter((f) => !f.reported)
    if (gone.length === 0) return
    for (const f of gone) f.reported = true
    try {
      this.options.onRevoked?.(gone.map((f) => ({ topic: f.topic, partition: f.partition })))
    } catch {
      // The contract's callbacks must not throw; a throw would otherwise stall the group's rebalance.
    }
  }

  assign(partitions: readonly TopicPartition[]): void {
    // Ownership is recorded before any loop runs: a loop may reach its first commit synchronously.
    this.fetchers = partitions.map((tp) => ({
      topic: tp.topic,
      partition: tp.partition,
      active: true,
      seekTo: undefined,
      reported: false,
      cancelWait: undefined,
      done: Promise.resolve(),
    }))
    if (partitions.length > 0) {
      try {
        this.options.onAssigned?.(partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition })))
      } catch {
        // As for onRevoked.
      }
    }
    for (const f of this.fetchers) f.done = this.fetch(f)
  }

  private async fetch(f: Fetcher): Promise<void> {
    const log = this.host.partitionsOf(f.topic)[f.partition]
    if (!log) return
    const fromBeginning = this.options.subscriptions.find((s) => s.topic === f.topic)?.fromBeginning ?? false
    let position =
      this.group.committedOffset(f.topic, f.partition) ?? (fromBeginning ? log.logStartOffset : log.logEndOffset)
    const isActive = () => f.active
    const heartbeat = async () => {}
    while (f.active) {
      if (f.seekTo !== undefined) {
        position = f.seekTo
        f.seekTo = undefined
      }
      if (this.paused.has(tpKey(f.topic, f.partition))) {
        // Nothing to heartbeat on memory: a member stays in its group while it is not stuck in a batch.
        await new Promise<void>((resolve) => (f.cancelWait = resolve))
        f.cancelWait = undefined
        continue
      }
      // Retention or compaction may have removed the position; continue at the oldest surviving record.
      position = Math.max(position, log.logStartOffset)
      const records = log.read(position, this.options.maxBatchSize)
      if (records.length === 0) {
        const wait = log.waitForAppend()
        f.cancelWait = wait.cancel
        if (f.active) await wait.promise
        f.cancelWait = undefined
        continue
      }
      await this.options.onBatch({ topic: f.topic, partition: f.partition, records, isActive, heartbeat })
      position = Number(records[records.length - 1]!.offset) + 1
      // Let other partitions and producers run between batches.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}
