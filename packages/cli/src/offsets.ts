/**
 * Positions are opaque to the SDK, but each backend documents its form (Backend contract, PartitionEnd): Kafka and
 * memory use decimal offsets and an end is the next offset to be written; Redis uses stream ids ('ms-seq') and an
 * end is the id of the last entry. The CLI compares them to stop at an end and to skip records already copied.
 */
const ID = /^(\d+)-(\d+)$/

/** Orders two positions of one partition: negative, zero or positive. */
export function compareOffsets(a: string, b: string): number {
  const x = ID.exec(a)
  const y = ID.exec(b)
  if (x && y) return Number(BigInt(x[1]!) - BigInt(y[1]!)) || Number(BigInt(x[2]!) - BigInt(y[2]!))
  return Number(BigInt(a) - BigInt(b))
}

/** True when a record at `offset` lies before the partition end `end` (an exclusive offset, or an inclusive last id). */
export function beforeEnd(offset: string, end: string): boolean {
  const c = compareOffsets(offset, end)
  return ID.test(end) ? c <= 0 : c < 0
}

/** True when, once a record at `offset` is handled, nothing of the partition before `end` is left. */
export function reachesEnd(offset: string, end: string): boolean {
  return ID.test(end) ? compareOffsets(offset, end) >= 0 : BigInt(offset) + 1n >= BigInt(end)
}
