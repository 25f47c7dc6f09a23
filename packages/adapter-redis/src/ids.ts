/** Stream entry ids ("<ms>-<seq>"), the Redis adapter's offsets: ordered, not consecutive. */

function split(id: string): [number, number] {
  const dash = id.indexOf('-')
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

/** Negative, zero or positive as a is before, equal to or after b. */
export function compareIds(a: string, b: string): number {
  const [am, as] = split(a)
  const [bm, bs] = split(b)
  return am !== bm ? am - bm : as - bs
}

/** How many of the ascending ids are at or before the id. */
export function countUpTo(ids: readonly string[], id: string): number {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareIds(ids[mid]!, id) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
