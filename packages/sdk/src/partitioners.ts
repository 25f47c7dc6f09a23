import { PartitionerError } from './errors.js'
import { partitionFor } from './murmur2.js'

export interface PartitionContext<K = unknown, V = unknown> {
  readonly topic: string
  /** The key as the caller gave it (after schema validation); null or undefined when the record has none. */
  readonly key: K | null | undefined
  /** The serialized key; the default partitioner hashes these bytes. */
  readonly keyBytes: Uint8Array | null
  readonly value: V
  readonly partitions: number
}

/** Picks a partition in [0, partitions). Called for every record that does not name its partition. */
export type Partitioner<K = unknown, V = unknown> = (ctx: PartitionContext<K, V>) => number

export type NullKeyStrategy = 'sticky' | 'round-robin'

/** Bytes of keyless records one sticky partition takes before moving on, as Java's batch.size (KIP-794). */
export const STICKY_BATCH_BYTES = 16384

/** Where keyless records go. Stateful, one per producer and topic, so it lives apart from the pure key hash. */
export class NullKeyPlacer {
  private next: number
  private bytes = 0
  constructor(private readonly strategy: NullKeyStrategy) {
    // A random start, as the Java and kafkajs clients do, so producers do not all pile onto partition 0.
    this.next = Math.floor(Math.random() * 0x7fffffff)
  }
  place(partitions: number, size: number): number {
    const p = this.next % partitions
    if (this.strategy === 'round-robin') {
      this.next = (this.next + 1) % 0x7fffffff
    } else if ((this.bytes += size) >= STICKY_BATCH_BYTES) {
      this.endBatch()
    }
    return p
  }
  /** Sticky placement moves on after every batch, so keyless load spreads over time. */
  endBatch(): void {
    if (this.strategy === 'sticky' && this.bytes > 0) {
      this.next = (this.next + 1) % 0x7fffffff
      this.bytes = 0
    }
  }
}

/** Java's default for keyed records: murmur2 of the serialized key, masked positive, modulo the partition count. */
export const murmur2Partitioner: Partitioner = ({ keyBytes, partitions }) => {
  if (keyBytes === null)
    throw new PartitionerError('murmur2Partitioner needs a key; keyless records are placed by the null-key strategy.')
  return partitionFor(keyBytes, partitions)
}

export function checkPartition(topic: string, partition: unknown, partitions: number, source: string): number {
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw new PartitionerError(
      `${source} chose partition ${String(partition)} for topic '${topic}', which has partitions 0 to ${partitions - 1}. ` +
        `Return an integer in [0, partitions); use ctx.partitions rather than a fixed count.`,
    )
  }
  return partition
}
