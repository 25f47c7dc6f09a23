import type { OffsetFormat, OffsetRange } from './contract.js'

const DECIMAL = /^\d+$/
const ENTRY_ID = /^\d+(-\d+)?$/

/** Kafka's and memory's offsets: decimal integers, consecutive, the next one written being the partition's end. */
export const decimalOffsets: OffsetFormat = {
  description: 'decimal integers (as messages carry them)',
  valid: (offset) => DECIMAL.test(offset),
  compare: (a, b) => {
    const x = BigInt(a)
    const y = BigInt(b)
    return x < y ? -1 : x > y ? 1 : 0
  },
}

/** A stream entry id '<ms>-<seq>' (or '<ms>', that is '<ms>-0') as two 64-bit parts. */
function parts(id: string): [bigint, bigint] {
  const dash = id.indexOf('-')
  return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))]
}

/** Redis's offsets: stream entry ids, ordered and not consecutive. */
export const streamIdOffsets: OffsetFormat = {
  description: "stream entry ids ('<ms>-<seq>', as messages carry them)",
  valid: (offset) => ENTRY_ID.test(offset),
  compare: (a, b) => {
    const [am, as] = parts(a)
    const [bm, bs] = parts(b)
    const d = am !== bm ? am - bm : as - bs
    return d < 0n ? -1 : d > 0n ? 1 : 0
  },
}

/**
 * The offset within [low, high] of the partition: one outside is clamped to the nearer edge, as resetOffsets and
 * `kafka-consumer-groups --reset-offsets --to-offset` do (past the end, the records written until the log reached it
 * would be skipped unseen; before the start, they are gone).
 */
export function clampOffset(format: OffsetFormat, offset: string, range: OffsetRange): string {
  if (format.compare(offset, range.high) > 0) return range.high
  if (format.compare(offset, range.low) < 0) return range.low
  return offset
}
