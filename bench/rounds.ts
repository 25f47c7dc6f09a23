// Several rounds of a case, summed up as the median and the spread (min–max): on a shared machine the best round says
// more about the load than about the code.

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no rounds')
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function summarize(xs: readonly number[]): Summary {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}

/** Round i of `keyed` over round i of `raw`: both ran back to back under the same load, so their ratio is the figure. */
export function ratios(keyed: readonly number[], raw: readonly number[]): number[] {
  return keyed.map((k, i) => k / raw[i]!)
}

const count = (n: number) => Math.round(n).toLocaleString('en-US')

/** "724,000 (610,000–801,000)"; ratios as "0.93 (0.88–1.01)". */
export function spread(xs: readonly number[], kind: 'count' | 'ratio' = 'count'): string {
  const s = summarize(xs)
  const f = kind === 'count' ? count : (n: number) => n.toFixed(2)
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`
}
