/**
 * Per partition, the last record of the batch being handled and the offset after that batch, when records nobody sees
 * (a transaction's marker, aborted records) end it: a commit of that record commits past them, as Java's consumer
 * does, or the group would never reach the partition's end (lag 1 after every transaction). Both transports use it.
 */
export class MarkerTails {
  private readonly tails = new Map<string, { last: string; next: bigint }>()

  /** The batch now handled in partition `k` holds records up to `last` (none: undefined) and ends before `next`. */
  batch(k: string, last: string | undefined, next: bigint): void {
    if (last !== undefined && BigInt(last) + 1n < next) this.tails.set(k, { last, next })
    else this.tails.delete(k)
  }

  /** Kafka's committed offset (the next one to read) for a commit of the record at `offset` in partition `k`. */
  next(k: string, offset: string): bigint {
    const tail = this.tails.get(k)
    return tail?.last === offset ? tail.next : BigInt(offset) + 1n
  }
}
