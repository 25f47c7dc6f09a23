import type { KeySet } from './counts.js'

export interface MovedKey {
  readonly key: string
  readonly records: number
  readonly from: number
  readonly to: number
}

export interface Alternative {
  readonly partitions: number
  readonly movedKeyShare: number
  readonly movedRecordShare: number
}

export interface PartitionPlan {
  readonly from: number
  readonly to: number
  readonly distinctKeys: number
  readonly records: number
  readonly movedKeys: number
  readonly movedKeyShare: number
  readonly movedRecords: number
  readonly movedRecordShare: number
  readonly sample: readonly MovedKey[]
  /** Counts that move fewer keys than `to` (multiples of the current count when growing, divisors when shrinking). */
  readonly alternatives: readonly Alternative[]
  readonly ordering: string
}

/** Candidate counts near `to` that keep more keys in place: multiples of `from` (growing) or its divisors (shrinking). */
function candidates(from: number, to: number): number[] {
  const out: number[] = []
  if (to > from) for (let k = 2; out.length < 4 && k * from <= Math.max(2 * to, 2 * from); k++) out.push(k * from)
  else for (let d = from - 1; d >= 1 && out.length < 4; d--) if (from % d === 0) out.push(d)
  return out.filter((n) => n !== to)
}

/** What changing the partition count from `from` to `to` does to keyed records: which keys would go elsewhere. */
/**
 * `backend` is the name of the backend the topic lives on (`kafka`, `redis`, `memory`), or undefined for keys from a
 * file or stdin, where the note covers Kafka and Redis both.
 */
export function planPartitions(
  counts: KeySet,
  from: number,
  to: number,
  sampleSize = 10,
  backend?: string,
): PartitionPlan {
  const alts = candidates(from, to)
  const altMoved = alts.map(() => ({ keys: 0, records: 0 }))
  let movedKeys = 0
  let movedRecords = 0
  const distinctKeys = counts.distinct
  const sample: MovedKey[] = []
  counts.forEach((records, hash, id) => {
    const old = hash % from
    const now = hash % to
    if (old !== now) {
      movedKeys++
      movedRecords += records
      if (sample.length < sampleSize) sample.push({ key: counts.keyOf(id), records, from: old, to: now })
    }
    for (let i = 0; i < alts.length; i++) {
      if (hash % alts[i]! !== old) {
        altMoved[i]!.keys++
        altMoved[i]!.records += records
      }
    }
  })
  const keyed = counts.keyed
  const share = (n: number, of: number) => (of ? n / of : 0)
  const movedKeyShare = share(movedKeys, distinctKeys)
  const alternatives = alts
    .map((partitions, i) => ({
      partitions,
      movedKeyShare: share(altMoved[i]!.keys, distinctKeys),
      movedRecordShare: share(altMoved[i]!.records, keyed),
    }))
    .filter((a) => a.movedKeyShare < movedKeyShare)
  return {
    from,
    to,
    distinctKeys,
    records: keyed,
    movedKeys,
    movedKeyShare,
    movedRecords,
    movedRecordShare: share(movedRecords, keyed),
    sample,
    alternatives,
    ordering: orderingNote(movedKeys, from, to, backend),
  }
}

const MIGRATE = `copy it to a new topic with ${'`'}keyed topic migrate${'`'} (each key's records stay in their order) and move producers and consumers over`

/** What the change means for ordering, and how to make it: Kafka grows in place but cannot shrink; elsewhere the count is fixed. */
function orderingNote(movedKeys: number, from: number, to: number, backend: string | undefined): string {
  const keys = `${movedKeys.toLocaleString('en-US')} key${movedKeys === 1 ? '' : 's'}`
  const fixed = (where: string) =>
    `${where} a topic's partition count is fixed when it is created: for ${to} partitions, ${MIGRATE}.`
  if (backend !== undefined && backend !== 'kafka')
    return fixed(`On ${backend === 'redis' ? 'Redis' : `the ${backend} backend`},`)
  const kafka =
    to < from
      ? `Kafka cannot lower a topic's partition count: for ${to} partitions, ${MIGRATE}` +
        (movedKeys === 0 ? '.' : `; ${keys} are in another partition there than here.`)
      : movedKeys === 0
        ? 'No key changes partition: per-key order is unaffected.'
        : `Kafka does not move existing records: after the change, new records of ${keys} go to another partition while their older records stay where they are, ` +
          "so a consumer can handle a key's new records before its old ones (two partitions, no order between them), and a compacted topic keeps two latest values for such a key. " +
          `Drain the topic before the change (stop producers, wait for lag 0), or ${MIGRATE}.`
  return backend === 'kafka'
    ? kafka
    : `${kafka} On Redis a topic's partition count is fixed when it is created: there, a new topic and ${'`'}keyed topic migrate${'`'} either way.`
}
