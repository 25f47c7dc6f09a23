import type { TopicPartition } from '../backend/contract.js'

const id = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** The partitions this consumer's member owns now, as the backend's onAssigned/onRevoked callbacks told it. */
export class Ownership {
  private readonly owned = new Map<string, TopicPartition>()

  owns(topic: string, partition: number): boolean {
    return this.owned.has(id(topic, partition))
  }

  /** Sorted by topic, then partition. */
  list(): TopicPartition[] {
    return [...this.owned.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    )
  }

  assigned(partitions: readonly TopicPartition[]): TopicPartition[] {
    const copies = partitions.map(({ topic, partition }) => ({ topic, partition }))
    for (const tp of copies) this.owned.set(id(tp.topic, tp.partition), tp)
    return copies
  }

  revoked(partitions: readonly TopicPartition[]): TopicPartition[] {
    const copies = partitions.map(({ topic, partition }) => ({ topic, partition }))
    for (const tp of copies) this.owned.delete(id(tp.topic, tp.partition))
    return copies
  }

  clear(): void {
    this.owned.clear()
  }
}
