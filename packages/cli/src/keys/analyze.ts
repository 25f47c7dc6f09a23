import type { KeySet } from './counts.js'

export interface PartitionLoad {
  readonly partition: number
  readonly records: number
  readonly distinctKeys: number
  /** Share of all records. */
  readonly share: number
}

export interface HotKey {
  readonly key: string
  readonly records: number
  readonly share: number
  readonly partition: number
}

export type VerdictLevel = 'ok' | 'warn' | 'bad'

export interface KeyAnalysis {
  readonly partitions: number
  readonly records: number
  readonly keyless: number
  readonly keylessShare: number
  readonly distinctKeys: number
  readonly perPartition: readonly PartitionLoad[]
  readonly skew: {
    readonly maxOverMean: number
    readonly coefficientOfVariation: number
    readonly hottestPartition: number
  }
  readonly hotKeys: readonly HotKey[]
  readonly verdict: { readonly level: VerdictLevel; readonly summary: string; readonly suggestion: string }
}

/** Ids of the `top` keys with the most records, most first, in one pass (a small sorted window, not a full sort). */
export function topKeys(keys: KeySet, top: number): Array<{ id: number; records: number; hash: number }> {
  const best: Array<{ id: number; records: number; hash: number }> = []
  keys.forEach((records, hash, id) => {
    if (best.length === top && records <= best[top - 1]!.records) return
    let i = best.length
    while (i > 0 && best[i - 1]!.records < records) i--
    best.splice(i, 0, { id, records, hash })
    if (best.length > top) best.pop()
  })
  return best
}

/** Records and distinct keys per partition under keyed's (Kafka's Java) partitioning, skew, hot keys and a verdict. */
export function analyzeKeys(counts: KeySet, partitions: number, top = 10): KeyAnalysis {
  const records = new Array<number>(partitions).fill(0)
  const distinct = new Array<number>(partitions).fill(0)
  for (const [partition, n] of counts.keylessByPartition) if (partition < partitions) records[partition]! += n
  counts.forEach((n, hash) => {
    const p = hash % partitions
    records[p]! += n
    distinct[p]!++
  })
  const distinctKeys = counts.distinct
  const total = counts.records
  const mean = total / partitions
  const max = Math.max(...records)
  const variance = records.reduce((sum, r) => sum + (r - mean) ** 2, 0) / partitions
  const maxOverMean = mean > 0 ? max / mean : 0
  const cv = mean > 0 ? Math.sqrt(variance) / mean : 0
  const hotKeys = topKeys(counts, top).map((e) => ({
    key: counts.keyOf(e.id),
    records: e.records,
    share: total ? e.records / total : 0,
    partition: e.hash % partitions,
  }))
  const keylessShare = total ? counts.keyless / total : 0
  return {
    partitions,
    records: total,
    keyless: counts.keyless,
    keylessShare,
    distinctKeys,
    perPartition: records.map((r, partition) => ({
      partition,
      records: r,
      distinctKeys: distinct[partition]!,
      share: total ? r / total : 0,
    })),
    skew: { maxOverMean, coefficientOfVariation: cv, hottestPartition: records.indexOf(max) },
    hotKeys,
    verdict: verdict({ partitions, total, distinctKeys, maxOverMean, keylessShare, hot: hotKeys[0] }),
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

function verdict(a: {
  partitions: number
  total: number
  distinctKeys: number
  maxOverMean: number
  keylessShare: number
  hot: HotKey | undefined
}): KeyAnalysis['verdict'] {
  const { partitions, total, distinctKeys, maxOverMean, keylessShare, hot } = a
  if (total === 0)
    return {
      level: 'warn',
      summary: 'no records to analyze',
      suggestion: 'Point it at a topic with records, or give keys with --keys FILE.',
    }
  const fair = 1 / partitions
  const hotShare = hot && distinctKeys > 1 && partitions > 1 ? hot.share : 0
  const level: VerdictLevel =
    maxOverMean > 1.5 || distinctKeys < partitions || hotShare > fair
      ? 'bad'
      : maxOverMean > 1.2 || hotShare > fair / 2 || keylessShare > 0.5
        ? 'warn'
        : 'ok'
  const load = `the busiest partition has ${maxOverMean.toFixed(2)}× the mean load`
  if (hot && hotShare > fair / 2) {
    return {
      level,
      summary: `hot key '${hot.key}' alone carries ${pct(hot.share)} of the records (a fair partition share is ${pct(fair)}), so ${load}; more partitions cannot spread one key`,
      suggestion: `If order only matters within a finer unit, use a compound key ('${hot.key}:<sub-id>', e.g. an order or device id) so that unit keeps its order and the load spreads; otherwise give that key its own topic or a faster consumer.`,
    }
  }
  if (distinctKeys < partitions) {
    return {
      level,
      summary: `only ${distinctKeys} distinct key${distinctKeys === 1 ? '' : 's'} for ${partitions} partitions: at least ${partitions - distinctKeys} partition${partitions - distinctKeys === 1 ? '' : 's'} stay empty`,
      suggestion:
        'Key by a field with many more values than partitions (a customer, account or device id), or a compound key.',
    }
  }
  if (level !== 'ok' && keylessShare <= 0.5) {
    return {
      level,
      summary: `skewed: ${load}`,
      suggestion:
        distinctKeys < partitions * 20
          ? `Few keys per partition (${(distinctKeys / partitions).toFixed(1)}): key by a field with more values, or a compound key.`
          : 'A few heavy keys dominate: see the hot keys; a compound key spreads them.',
    }
  }
  if (level !== 'ok') {
    return {
      level,
      summary: `${pct(keylessShare)} of the records have no key (no order, no compaction for them); ${load}`,
      suggestion: 'Keyless records are fine for unordered data; give a key where order or compaction matters.',
    }
  }
  return { level, summary: `balanced: ${load}`, suggestion: 'Nothing to change.' }
}
