import type { Backend, IncomingRecord } from '@keyed/sdk/backend'
import { toBuffer } from '@keyed/sdk/backend'
import { compareOffsets } from '../offsets.js'
import { readAll } from '../read-topic.js'
import { originOf } from './origin.js'

/** FNV-1a of a record's identity; summed per key, so the same set of records gives the same sum in any order. */
function fnv(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

interface KeySide {
  count: number
  sum: number
  last: string
}

export interface Verification {
  readonly ok: boolean
  readonly keys: number
  readonly sourceRecords: number
  readonly targetRecords: number
  /** Keys whose records differ (missing, extra, or another latest record on a compacted topic). */
  readonly mismatchedKeys: number
  /** Records found after a later record of the same key and source partition in the target (order broken) or twice. */
  readonly outOfOrder: number
  /** Target records without the origin header (not written by this migration). */
  readonly foreign: number
  readonly examples: readonly string[]
  /** compacted: only each key's latest record is compared, since the cleaner may remove superseded ones at any time. */
  readonly mode: 'every-record' | 'latest-per-key'
}

/** A key's identity across both topics; keyless records are grouped by source partition (their order holds there). */
const keyId = (record: IncomingRecord, sourcePartition: number) => (record.key === null ? `\u0000keyless/${sourcePartition}` : toBuffer(record.key).toString('latin1'))

function add(map: Map<string, KeySide>, key: string, identity: string): void {
  const side = map.get(key)
  if (side) {
    side.count++
    side.sum = (side.sum + fnv(identity)) >>> 0
    side.last = identity
  } else map.set(key, { count: 1, sum: fnv(identity), last: identity })
}

/**
 * Reads the source up to `sourceEnds` and the whole target, and checks that every key has the same records in the
 * target, and that in each target partition a key's records from one source partition are in source offset order.
 */
export async function verifyCopy(backend: Backend, from: string, to: string, sourceEnds: ReadonlyMap<number, string>, compacted: boolean): Promise<Verification> {
  const source = new Map<string, KeySide>()
  let sourceRecords = 0
  await readAll({
    backend,
    topic: from,
    until: sourceEnds,
    onRecords(records, partition) {
      for (const r of records) add(source, keyId(r, partition), `${partition}/${r.offset}`)
      sourceRecords += records.length
    },
  })
  const target = new Map<string, KeySide>()
  const lastPerSource = new Map<string, string>()
  let targetRecords = 0
  let outOfOrder = 0
  let foreign = 0
  const examples: string[] = []
  await readAll({
    backend,
    topic: to,
    onRecords(records) {
      for (const r of records) {
        targetRecords++
        const origin = originOf(r)
        if (!origin) {
          foreign++
          continue
        }
        const key = keyId(r, origin.partition)
        const pair = `${origin.partition}\u0000${key}`
        const previous = lastPerSource.get(pair)
        if (previous !== undefined && compareOffsets(origin.offset, previous) <= 0) {
          outOfOrder++
          if (examples.length < 5) examples.push(`key ${JSON.stringify(toBuffer(r.key ?? new Uint8Array()).toString('utf8'))}: ${origin.partition}/${origin.offset} after ${origin.partition}/${previous} in target partition ${r.partition}`)
        }
        lastPerSource.set(pair, origin.offset)
        add(target, key, `${origin.partition}/${origin.offset}`)
      }
    },
  })
  let mismatchedKeys = 0
  const shown = (key: string) => (key.startsWith('\u0000') ? key.slice(1) : JSON.stringify(Buffer.from(key, 'latin1').toString('utf8')))
  for (const [key, s] of source) {
    const t = target.get(key)
    const same = t !== undefined && (compacted ? t.last === s.last : t.count === s.count && t.sum === s.sum)
    if (!same) {
      mismatchedKeys++
      if (examples.length < 5) examples.push(`key ${shown(key)}: source ${s.count} records (last ${s.last}), target ${t?.count ?? 0}${t ? ` (last ${t.last})` : ''}`)
    }
  }
  if (!compacted) {
    for (const [key, t] of target) {
      if (source.has(key)) continue
      mismatchedKeys++
      if (examples.length < 5) examples.push(`key ${shown(key)}: ${t.count} records in the target, none in the source`)
    }
  }
  return {
    ok: mismatchedKeys === 0 && outOfOrder === 0 && foreign === 0,
    keys: source.size,
    sourceRecords,
    targetRecords,
    mismatchedKeys,
    outOfOrder,
    foreign,
    examples,
    mode: compacted ? 'latest-per-key' : 'every-record',
  }
}
