import type { GroupMemberOptions, TopicPartition } from '@keyed/sdk/backend'

const id = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * The partitions kafkajs gave this member, told to the SDK through onAssigned/onRevoked. kafkajs has no rebalance
 * listener: a rebalance is its REBALANCING event, emitted once its fetchers stopped and every batch in flight
 * returned, before it rejoins (so before the group hands the partitions on), and an assignment is GROUP_JOIN's.
 */
export class Assignment {
  private readonly owned = new Map<string, TopicPartition>()

  constructor(private readonly options: Pick<GroupMemberOptions, 'onAssigned' | 'onRevoked'>) {}

  has(topic: string, partition: number): boolean {
    return this.owned.has(id(topic, partition))
  }

  /** A join's assignment: what it no longer holds is revoked (a rejoin kafkajs made without REBALANCING), the rest assigned. */
  joined(memberAssignment: Readonly<Record<string, readonly number[]>>): void {
    const next = new Map<string, TopicPartition>()
    for (const [topic, partitions] of Object.entries(memberAssignment))
      for (const partition of partitions) next.set(id(topic, partition), { topic, partition })
    this.report(
      'onRevoked',
      [...this.owned].filter(([key]) => !next.has(key)).map(([, tp]) => tp),
    )
    const added = [...next].filter(([key]) => !this.owned.has(key)).map(([, tp]) => tp)
    this.owned.clear()
    for (const [key, tp] of next) this.owned.set(key, tp)
    this.report('onAssigned', added)
  }

  /** Every partition goes: a rebalance (eager: all of them), a crash or the member's close. */
  revokeAll(): TopicPartition[] {
    const all = [...this.owned.values()]
    this.owned.clear()
    this.report('onRevoked', all)
    return all
  }

  private report(which: 'onAssigned' | 'onRevoked', partitions: TopicPartition[]): void {
    if (partitions.length === 0) return
    try {
      this.options[which]?.(partitions)
    } catch {
      // The contract's callbacks must not throw; kafkajs's event emitter would otherwise crash the member.
    }
  }
}
