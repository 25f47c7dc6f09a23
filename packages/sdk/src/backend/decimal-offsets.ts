import { ConfigError } from '../errors.js'
import type { ClampedOffset, OffsetRange, ResetPosition } from './contract.js'
import { clampOffset, decimalOffsets } from './offsets.js'

/** A partition's oldest surviving offset and its end (the next offset to be written), as decimal strings. */
export type PartitionEdges = OffsetRange

/**
 * Checks that every given offset is a decimal integer, as Kafka and memory offsets are: called before anything touches
 * the group, so a malformed one changes nothing (and, on Kafka, joins no member).
 */
export function checkDecimalOffsets(backend: string, topic: string, positions: readonly ResetPosition[]): void {
  for (const p of positions)
    if ('offset' in p && !decimalOffsets.valid(p.offset))
      throw new ConfigError(
        `The ${backend} backend's offsets are decimal integers (as messages carry them); partition ${p.partition} of '${topic}' was given '${p.offset}'.`,
      )
}

/**
 * Each position as an offset within [earliest, end] of its partition: 'earliest' and 'latest' become the edges, and an
 * offset outside is clamped to the nearer one, as `kafka-consumer-groups --reset-offsets --to-offset` does (an offset
 * past the end would otherwise skip, unseen, the records written until the log reaches it). Returns what was clamped.
 */
export function clampDecimalOffsets(
  positions: readonly ResetPosition[],
  edges: ReadonlyMap<number, PartitionEdges>,
): { offsets: Array<{ partition: number; offset: string }>; clamped: ClampedOffset[] } {
  const clamped: ClampedOffset[] = []
  const offsets = positions.map((p) => {
    const edge = edges.get(p.partition) ?? { low: '0', high: '0' }
    if (!('offset' in p)) return { partition: p.partition, offset: p.to === 'earliest' ? edge.low : edge.high }
    const wanted = BigInt(p.offset).toString()
    const offset = clampOffset(decimalOffsets, wanted, edge)
    if (offset !== wanted) clamped.push({ partition: p.partition, requested: p.offset, offset })
    return { partition: p.partition, offset }
  })
  return { offsets, clamped }
}
