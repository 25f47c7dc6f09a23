/** How long a look at the cluster's brokers is trusted before the next. */
const FRESH_MS = 10_000

/**
 * Whether the cluster has only ever had one broker, as far as this producer has seen: then a kafkajs sendBatch is one
 * request per attempt whatever its partitions, and an idempotent producer may send a call's partitions together (see
 * KafkaProducer). Answers at once and never waits: false until a look at the cluster says one broker, false while
 * that look is older than FRESH_MS (a new one is taken meanwhile), and false for good once a look showed more than one
 * broker, or another broker than before (a broker that left may still be in kafkajs's metadata, and one that joins
 * may lead partitions soon).
 */
export class SoleBroker {
  private id: number | undefined
  private checkedAt = -Infinity
  private never = false
  private looking = false

  constructor(
    /** The node ids of the cluster's brokers. */
    private readonly brokers: () => Promise<number[]>,
  ) {}

  now(): boolean {
    if (this.never) return false
    if (Date.now() - this.checkedAt < FRESH_MS) return true
    this.look()
    return false
  }

  /** A send failed: the next calls go one partition per sendBatch until a new look. */
  distrust(): void {
    this.checkedAt = -Infinity
  }

  private look(): void {
    if (this.looking) return
    this.looking = true
    this.brokers().then(
      (ids) => {
        this.looking = false
        if (ids.length !== 1 || (this.id !== undefined && ids[0] !== this.id)) {
          this.never = true
          return
        }
        this.id = ids[0]
        this.checkedAt = Date.now()
      },
      () => (this.looking = false), // tried again on the next call
    )
  }
}
