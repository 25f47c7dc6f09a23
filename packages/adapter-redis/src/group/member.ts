import {
  ConfigError,
  FencedError,
  isKeyedError,
  TimeoutError,
  type BackendConsumer,
  type KeyedError,
  type CommitOffset,
  type GroupMemberOptions,
  type TopicPartition,
} from '@keyed/sdk/backend'
import type { RedisContext } from '../context.js'
import { toKeyedError, translated } from '../errors.js'
import { isEntryId } from '../ids.js'
import { deadline, within } from '../within.js'
import { Lease } from './lease.js'
import { Membership } from './membership.js'
import { GroupReplication } from './replication.js'
import { PartitionReader } from './reader.js'

/** While a wanted partition is still held by its previous owner, try again this often. */
const ACQUIRE_RETRY_MS = 50

interface Owned {
  readonly reader: PartitionReader
  /** The reader's loop, until its lease is released. */
  readonly done: Promise<void>
}

/**
 * A group member with exclusive partition ownership. Every heartbeat it computes the group's plan (Membership),
 * renews the leases of what it owns and lets go of what the plan no longer gives it (after its batch in flight), and
 * takes what it gives it once the previous owner released it or its lease expired (Lease). Each owned partition is
 * read by its own PartitionReader; acknowledgements check the lease token, so a member that lost a lease cannot commit.
 */
export class RedisGroupMember implements BackendConsumer {
  private readonly membership: Membership
  private readonly replication: GroupReplication
  private readonly owned = new Map<string, Owned>()
  private readonly leaseMs: number
  private readonly heartbeatMs: number
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> = Promise.resolve()
  private started = false
  /** The partitions the latest plan gives this member. */
  private wanted = new Map<string, TopicPartition>()
  private closing = false
  /** Paused partitions by 'topic:partition': this member's, kept across rebalances. */
  private readonly paused = new Set<string>()
  private closed: Promise<void> | undefined

  constructor(
    private readonly context: RedisContext,
    private readonly options: GroupMemberOptions,
    private readonly onClosed: () => void,
  ) {
    this.membership = new Membership(context, options)
    this.replication = new GroupReplication(context, options.groupId)
    this.leaseMs = context.options.leaseMs ?? options.sessionTimeoutMs
    this.heartbeatMs = context.options.heartbeatIntervalMs ?? options.heartbeatIntervalMs
    if (this.heartbeatMs * 2 > this.leaseMs) {
      throw new ConfigError(
        `The Redis lease (${this.leaseMs} ms) must be at least twice the heartbeat interval (${this.heartbeatMs} ms), or owners lose partitions between renewals. Raise sessionTimeoutMs/leaseMs or lower heartbeatIntervalMs.`,
      )
    }
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await translated(`join group '${this.options.groupId}'`, this.context.options.server, () => this.join())
  }

  private async join(): Promise<void> {
    await this.membership.join()
    try {
      await this.tick()
    } catch (error) {
      await this.close()
      throw error
    }
    // Joining means taking part in the assignment: wait until the partitions the plan gives this member are ours
    // (their previous owners release them after their batch in flight, or their leases expire).
    const until = Date.now() + this.leaseMs + 2 * this.heartbeatMs
    while (!this.closing && Date.now() < until && [...this.wanted.keys()].some((id) => !this.owned.has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.add(`${topic}:${partition}`)
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const id = `${topic}:${partition}`
      this.paused.delete(id)
      this.owned.get(id)?.reader.resumed()
    }
  }

  /** The reader applies it before its next read, under its lease (ignored for a partition not owned). */
  seek(position: CommitOffset): void {
    if (!isEntryId(position.offset))
      throw new ConfigError(
        `Redis offsets are stream entry ids ('<ms>-<seq>', as messages carry them), got '${position.offset}'.`,
      )
    this.owned.get(`${position.topic}:${position.partition}`)?.reader.seek(position.offset)
  }

  /** Bounded by sendTimeoutMs like a send: a commit that waited that long through an outage fails with TimeoutError. */
  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    const { server, sendTimeoutMs } = this.context.options
    await deadline(
      translated(`commit for group '${this.options.groupId}'`, server, () => this.acknowledge(offsets)),
      sendTimeoutMs,
      () =>
        new TimeoutError(
          `A commit of group '${this.options.groupId}' on ${server.display}`,
          sendTimeoutMs,
          'The server did not answer; the records stay uncommitted and are delivered again. Raise redis({ sendTimeoutMs }) to wait longer through outages.',
        ),
    )
  }

  private async acknowledge(offsets: readonly CommitOffset[]): Promise<void> {
    await Promise.all(
      offsets.map(async ({ topic, partition, offset }) => {
        const own = this.owned.get(`${topic}:${partition}`)
        if (!own || !(await own.reader.acknowledge(offset))) throw this.fenced(topic, partition)
      }),
    )
  }

  /**
   * Waits for the batches in flight, releases the leases and leaves the group, within sendTimeoutMs. Past it (the
   * server gone or frozen, a handler that never returns) it drops its readers and resolves: what it still held expires
   * on its own (leases after leaseMs, membership after sessionTimeoutMs). Every call gets the same close.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown()
    return this.closed
  }

  private async shutdown(): Promise<void> {
    this.closing = true
    clearTimeout(this.timer)
    for (const { reader } of this.owned.values()) reader.stop()
    const graceful = (async () => {
      await this.ticking
      for (const { reader } of this.owned.values()) reader.stop()
      await Promise.all([...this.owned.values()].map((o) => o.done))
      if (this.started) await this.membership.leave()
    })()
    if (!(await within(graceful, this.context.options.sendTimeoutMs))) {
      // Nothing here may wait any longer: the releases and the leave go out without waiting for an answer.
      for (const { reader } of this.owned.values()) {
        reader.drop()
        void this.release(reader.lease)
      }
      if (this.started) void this.membership.leave()
    }
    this.replication.close()
    this.onClosed()
  }

  private async release(lease: Lease): Promise<void> {
    const conn = await this.context.connection().catch(() => undefined)
    if (conn) await lease.release(conn)
  }

  private fenced(topic: string, partition: number): FencedError {
    return new FencedError(
      `Group '${this.options.groupId}' member lost partition ${partition} of '${topic}' (rebalanced, or its lease of ${this.leaseMs} ms expired); ` +
        `the commit was refused and the new owner resumes from the last commit.`,
    )
  }

  private schedule(delay: number): void {
    if (this.closing) return
    this.timer = setTimeout(() => {
      // A tick during an outage is simply tried again at the next one; a refusal would repeat forever.
      this.ticking = this.tick().catch((error: unknown) =>
        this.fatal(toKeyedError(error, `heartbeat in group '${this.options.groupId}'`, this.context.options.server)),
      )
    }, delay)
  }

  /** Heartbeat, renew what is owned, let go of what is no longer ours, take what is now ours. */
  private async tick(): Promise<void> {
    let waiting = false
    try {
      const wanted = await this.membership.heartbeat()
      if (this.closing) return
      this.wanted = wanted
      const conn = await this.context.connection()
      await Promise.all(
        [...this.owned.entries()].map(async ([id, { reader }]) => {
          if (reader.stopped) return
          if (!wanted.has(id) || !(await reader.lease.renew())) reader.stop()
        }),
      )
      await Promise.all(
        [...wanted]
          .filter(([id]) => !this.owned.has(id))
          .map(async ([id, { topic, partition }]) => {
            const { keys } = this.context
            const keyNames = {
              lease: keys.lease(topic, partition, this.options.groupId),
              epoch: keys.epoch(topic, partition, this.options.groupId),
            }
            const lease = await Lease.acquire(this.replication, keyNames, this.membership.memberId, this.leaseMs)
            if (!lease) {
              waiting = true
              return
            }
            if (this.closing || this.owned.has(id)) return lease.release(conn)
            const reader = new PartitionReader(
              this.context,
              this.options,
              topic,
              partition,
              lease,
              () => !this.closing,
              () => this.paused.has(id),
            )
            this.take(id, reader)
          }),
      )
    } finally {
      this.schedule(waiting ? Math.min(ACQUIRE_RETRY_MS, this.heartbeatMs) : this.heartbeatMs)
    }
  }

  /** Stops the member on a failure that does not pass by itself; the SDK stops the consumer with it. */
  private fatal(failure: KeyedError): void {
    if (this.closing || failure.retriable || isKeyedError(failure, 'CLOSED')) return
    void this.close()
    this.options.onFatal?.(failure)
  }

  private take(id: string, reader: PartitionReader): void {
    const { topic, partition } = reader
    const done = reader
      .read()
      .catch((error: unknown) => {
        // A passing failure (an outage) ends this reader; the next tick takes the partition again. A refusal would
        // repeat forever: the member stops and the SDK stops the consumer with it.
        this.fatal(toKeyedError(error, `read partition ${partition} of '${topic}'`, this.context.options.server))
      })
      .finally(async () => {
        // No read and no batch in flight any more: report it gone while the lease still keeps others out, then
        // release the lease if it is still ours.
        reader.drop()
        this.report('onRevoked', topic, partition)
        await this.release(reader.lease)
        if (this.owned.get(id)?.reader === reader) this.owned.delete(id)
      })
    this.owned.set(id, { reader, done })
    // Owned already (a listener may seek), and before the first batch: the reader's loop has not got its connection yet.
    this.report('onAssigned', topic, partition)
  }

  private report(which: 'onAssigned' | 'onRevoked', topic: string, partition: number): void {
    try {
      this.options[which]?.([{ topic, partition }])
    } catch {
      // The contract's callbacks must not throw; a throw here would skip the lease's release.
    }
  }
}
