import { randomUUID } from 'node:crypto'
import { assignPartitions, type GroupMemberOptions, type TopicPartition } from '@keyed/sdk/backend'
import type { RedisContext } from '../context.js'
import { replyCode } from '../errors.js'
import { heartbeat } from '../scripts.js'

type Options = Pick<GroupMemberOptions, 'groupId' | 'clientId' | 'subscriptions' | 'sessionTimeoutMs'>

/**
 * This member's place in its group: it heartbeats into the group's member sets (one per subscribed topic, scored by
 * expiry on the server's clock) and computes from the live members the plan every member computes alike.
 */
export class Membership {
  /** Readable in XINFO and member sets; '/' separates the member from the epoch in lease tokens, so it has none. */
  readonly memberId: string
  private readonly partitions = new Map<string, number>()

  constructor(
    private readonly context: Pick<RedisContext, 'connection' | 'guard' | 'keys' | 'topicMeta'>,
    private readonly options: Options,
  ) {
    this.memberId = `${(options.clientId ?? 'member').replace(/[/\s]/g, '_')}-${randomUUID()}`
  }

  /** Learns the partition counts and creates the group on each partition's stream (its first member fixes the start). */
  async join(): Promise<void> {
    const conn = await this.context.connection()
    const { keys } = this.context
    for (const sub of this.options.subscriptions) {
      const meta = await this.context.topicMeta(sub.topic)
      this.partitions.set(sub.topic, meta.partitions)
      await Promise.all(
        Array.from({ length: meta.partitions }, (_, p) =>
          conn
            .xgroup(
              'CREATE',
              keys.stream(sub.topic, p),
              this.options.groupId,
              sub.fromBeginning ? '0' : '$',
              'MKSTREAM',
            )
            .catch((error: unknown) => {
              if (replyCode(error) !== 'BUSYGROUP') throw error
            }),
        ),
      )
    }
  }

  /**
   * Refreshes this member and returns the partitions the plan gives it, by 'topic:partition'. Fails with
   * AuthenticationError when the connection is dropped for refused credentials (its heartbeat is never answered then).
   */
  async heartbeat(): Promise<Map<string, TopicPartition>> {
    const conn = await this.context.connection()
    const live = await this.context.guard(
      conn,
      heartbeat.run(conn, this.memberKeys(), [this.memberId, this.options.sessionTimeoutMs, '0']),
    )
    const mine = new Map<string, TopicPartition>()
    this.options.subscriptions.forEach((sub, i) => {
      const all = Array.from({ length: this.partitions.get(sub.topic) ?? 0 }, (_, partition) => ({
        topic: sub.topic,
        partition,
      }))
      for (const tp of assignPartitions(live[i] ?? [], all).get(this.memberId) ?? [])
        mine.set(`${tp.topic}:${tp.partition}`, tp)
    })
    return mine
  }

  /** Leaves the member sets, so the others rebalance at their next heartbeat instead of after the session timeout. */
  async leave(): Promise<void> {
    const conn = await this.context.connection().catch(() => undefined)
    if (conn)
      await heartbeat
        .run(conn, this.memberKeys(), [this.memberId, this.options.sessionTimeoutMs, '1'])
        .catch(() => undefined)
  }

  private memberKeys(): string[] {
    return this.options.subscriptions.map((s) => this.context.keys.members(this.options.groupId, s.topic))
  }
}
