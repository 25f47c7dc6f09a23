import type { Backend, BackendConsumer, PartitionBatch, TopicPartition } from '../backend/contract.js'
import type { KeyedError } from '../errors.js'

export interface MembershipSettings {
  readonly groupId: string
  readonly clientId: string | undefined
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly closeTimeoutMs: number
}

export interface MembershipEvents {
  assigned(partitions: readonly number[]): void
  revoked(partitions: readonly number[]): void
  fatal(error: KeyedError): void
}

/** How often a parked batch asks whether its partition is still ours; also what keeps a Kafka session alive while parked. */
const PARK_POLL_MS = 100

/**
 * A partitioned table's seat in a consumer group, used only to learn which partitions are this member's: the records
 * come from a backend reader per partition, which reads from the beginning (a group would resume where it committed,
 * and a table never commits). The group starts at the end of each partition (fromBeginning: false), takes one record
 * at a time, and the first batch of a partition is parked until the partition is revoked or the table closes: no
 * further fetches, so the group costs at most one record per partition per assignment (on Kafka, one fetch response),
 * not a second read of the topic. Nothing is committed.
 */
export class TableMembership {
  private closing = false
  private readonly consumer: BackendConsumer
  private readonly parked = new Set<() => void>()

  constructor(
    backend: Backend,
    private readonly topic: string,
    settings: MembershipSettings,
    private readonly events: MembershipEvents,
  ) {
    const mine = (tps: readonly TopicPartition[]) => tps.filter((tp) => tp.topic === topic).map((tp) => tp.partition)
    this.consumer = backend.consumer({
      groupId: settings.groupId,
      clientId: settings.clientId,
      subscriptions: [{ topic, fromBeginning: false }],
      sessionTimeoutMs: settings.sessionTimeoutMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      maxBatchSize: 1,
      closeTimeoutMs: settings.closeTimeoutMs,
      onBatch: (batch) => this.park(batch),
      onAssigned: (tps) => events.assigned(mine(tps)),
      onRevoked: (tps) => events.revoked(mine(tps)),
      onFatal: (error) => events.fatal(error),
    })
  }

  /** Joins the group; resolves once this member took part in its first assignment. */
  start(): Promise<void> {
    return this.consumer.start()
  }

  /** Releases the parked batches and leaves the group. */
  close(): Promise<void> {
    this.closing = true
    for (const release of this.parked) release()
    return this.consumer.close()
  }

  /** Holds the partition's batch until the partition is no longer ours (the backend then rebalances) or we close. */
  private park(batch: PartitionBatch): Promise<void> {
    if (this.closing || batch.topic !== this.topic) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const release = () => {
        clearInterval(timer)
        this.parked.delete(release)
        resolve()
      }
      // isActive() is also where the Kafka adapter heartbeats for a batch that runs long.
      const timer = setInterval(() => {
        if (this.closing || !batch.isActive()) release()
      }, PARK_POLL_MS)
      this.parked.add(release)
    })
  }
}
