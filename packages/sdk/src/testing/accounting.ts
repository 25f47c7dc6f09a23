/** One handler call as the order and loss checks see it. */
export interface Handled {
  readonly member: string
  readonly key: string
  readonly seq: number
  readonly partition: number
}

/** What the checks read of a handled record: its key and its sequence number within the key, from 0. */
export type Sequenced = Pick<Handled, 'key' | 'seq'>

/**
 * Per-key order under at-least-once: a record first seen must be the next of its key; a redelivery may replay
 * earlier records (from the last commit) but never skip ahead. Returns the violations.
 */
export function orderViolations(events: readonly Sequenced[]): string[] {
  const highest = new Map<string, number>()
  const problems: string[] = []
  for (const e of events) {
    const top = highest.get(e.key) ?? -1
    if (e.seq > top + 1) problems.push(`key ${e.key}: seq ${e.seq} handled before seq ${top + 1}`)
    if (e.seq > top) highest.set(e.key, e.seq)
  }
  return problems
}

/** The records `key#seq` of seq 0 to perKey - 1 of each key that no event shows. */
export function missing(events: readonly Sequenced[], keys: readonly string[], perKey: number): string[] {
  const seen = new Set(events.map((e) => `${e.key}#${e.seq}`))
  const out: string[] = []
  for (const k of keys) for (let s = 0; s < perKey; s++) if (!seen.has(`${k}#${s}`)) out.push(`${k}#${s}`)
  return out
}

/** Tracks which keys are being handled right now, across members: a key handled twice at once is an overlap. */
export function keyWatch() {
  const busy = new Map<string, string>()
  const overlaps: string[] = []
  let inFlight = 0
  let peak = 0
  return {
    overlaps,
    peak: () => peak,
    inFlight: () => inFlight,
    async around(member: string, key: string, work: () => Promise<void>) {
      const holder = busy.get(key)
      if (holder !== undefined) overlaps.push(`key ${key}: ${member} while ${holder}`)
      busy.set(key, member)
      peak = Math.max(peak, ++inFlight)
      try {
        await work()
      } finally {
        inFlight--
        if (busy.get(key) === member) busy.delete(key)
      }
    },
  }
}
