import { streamIdOffsets } from '@keyed/sdk/backend'

/** Stream entry ids ("<ms>-<seq>"), the Redis adapter's offsets: ordered, not consecutive. */

/** Negative, zero or positive as a is before, equal to or after b (64-bit parts compared exactly). */
export const compareIds = (a: string, b: string): number => streamIdOffsets.compare(a, b)

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

/**
 * The id a group must have read for its next entry to be `id`: the one just before it ('0' before the first). Ids are
 * '<ms>-<seq>' with 64-bit parts, so this works on BigInts.
 */
export function idBefore(id: string): string {
  const dash = id.indexOf('-')
  const ms = BigInt(dash < 0 ? id : id.slice(0, dash))
  const seq = dash < 0 ? 0n : BigInt(id.slice(dash + 1))
  if (seq > 0n) return `${ms}-${seq - 1n}`
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0'
}

/** The smallest id after this one ('<ms>-<seq>'). */
export function idAfter(id: string): string {
  const dash = id.indexOf('-')
  const ms = BigInt(dash < 0 ? id : id.slice(0, dash))
  const seq = dash < 0 ? 0n : BigInt(id.slice(dash + 1))
  return seq < 18446744073709551615n ? `${ms}-${seq + 1n}` : `${ms + 1n}-0`
}

/** A Redis offset from the SDK: a stream entry id ('<ms>-<seq>', or '<ms>'), as messages carry it. */
export function isEntryId(id: string): boolean {
  return streamIdOffsets.valid(id)
}
