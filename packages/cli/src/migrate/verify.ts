import type { Backend, IncomingRecord } from '@keyed/sdk/backend'
import { toBuffer } from '@keyed/sdk/backend'
import { readAll } from '../read-topic.js'
import { ORIGIN_HEADER } from './origin.js'

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

function fnvBytes(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME)
  return h
}

function fnvText(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return h
}

/** A record's content as the copy must keep it: value, timestamp and headers (the migration's own header left out). */
function fingerprint(r: IncomingRecord): number {
  let h = r.value === null ? FNV_PRIME : fnvBytes(FNV_OFFSET, r.value)
  h = fnvText(h, String(r.timestamp))
  for (const name of Object.keys(r.headers).sort())
    if (name !== ORIGIN_HEADER) h = fnvText(fnvText(h, name), r.headers[name]!)
  return h >>> 0
}

interface KeySide {
  count: number
  /** Order-sensitive: the fingerprints folded in the order read. */
  sequence: number
  /** Order-insensitive: their sum. */
  sum: number
  last: number
  /** The source partition it was first found in; -1 once found in two (its order across them is undefined). */
  partition: number
}

export interface Verification {
  readonly ok: boolean
  /** Distinct keys in the source; keyless records have none. */
  readonly keys: number
  readonly sourceRecords: number
  readonly targetRecords: number
  /** Keys whose records differ: missing, extra, doubled, changed, or in another order. */
  readonly mismatchedKeys: number
  readonly examples: readonly string[]
  /** compacted: only each key's latest record is compared, since the cleaner may remove superseded ones at any time. */
  readonly mode: 'every-record' | 'latest-per-key'
}

function add(map: Map<string, KeySide>, key: string, r: IncomingRecord, partition: number): void {
  const f = fingerprint(r)
  const side = map.get(key)
  if (!side) {
    map.set(key, { count: 1, sequence: Math.imul(FNV_OFFSET ^ f, FNV_PRIME) >>> 0, sum: f, last: f, partition })
    return
  }
  side.count++
  side.sequence = Math.imul(side.sequence ^ f, FNV_PRIME) >>> 0
  side.sum = (side.sum + f) >>> 0
  side.last = f
  if (side.partition !== partition) side.partition = -1
}

/**
 * Reads the source up to `sourceEnds` and the whole target, and checks every key: the same records (value, timestamp,
 * headers) in the same order. A key lives in one source partition and goes to one target partition, so its order is
 * that partition's offset order on both sides. Keyless records, and keys found in several source partitions (written
 * by another partitioner), have no order to keep: their records are compared as a set, per target partition.
 */
export async function verifyCopy(
  backend: Backend,
  from: string,
  to: string,
  partitions: number,
  sourceEnds: ReadonlyMap<number, string>,
  compacted: boolean,
): Promise<Verification> {
  const keyless = (partition: number) => `\u0000keyless/${partition}`
  const source = new Map<string, KeySide>()
  let sourceRecords = 0
  await readAll({
    backend,
    topic: from,
    until: sourceEnds,
    onRecords(records, partition) {
      for (const r of records)
        add(source, r.key === null ? keyless(partition % partitions) : toBuffer(r.key).toString('latin1'), r, partition)
      sourceRecords += records.length
    },
  })
  const target = new Map<string, KeySide>()
  let targetRecords = 0
  await readAll({
    backend,
    topic: to,
    onRecords(records, partition) {
      for (const r of records)
        add(target, r.key === null ? keyless(partition) : toBuffer(r.key).toString('latin1'), r, partition)
      targetRecords += records.length
    },
  })
  let mismatchedKeys = 0
  const examples: string[] = []
  const shown = (key: string) =>
    key.startsWith('\u0000') ? key.slice(1) : JSON.stringify(Buffer.from(key, 'latin1').toString('utf8'))
  for (const [key, s] of source) {
    const t = target.get(key)
    const unordered = s.partition === -1 || key.startsWith('\u0000')
    const same =
      t !== undefined &&
      (compacted ? t.last === s.last : t.count === s.count && (unordered ? t.sum === s.sum : t.sequence === s.sequence))
    if (!same) {
      mismatchedKeys++
      if (examples.length < 5) {
        const what = !t
          ? 'none in the target'
          : t.count !== s.count
            ? `${t.count} in the target`
            : t.sum === s.sum
              ? 'the same records in another order in the target'
              : 'other records in the target'
        examples.push(`key ${shown(key)}: ${s.count} records in the source, ${what}`)
      }
    }
  }
  if (!compacted) {
    for (const [key, t] of target) {
      if (source.has(key)) continue
      mismatchedKeys++
      if (examples.length < 5) examples.push(`key ${shown(key)}: ${t.count} records in the target, none in the source`)
    }
  }
  let keys = 0
  // Keyless records are grouped under a pseudo key per partition: not a key of the topic.
  for (const key of source.keys()) if (!key.startsWith('\u0000')) keys++
  return {
    ok: mismatchedKeys === 0,
    keys,
    sourceRecords,
    targetRecords,
    mismatchedKeys,
    examples,
    mode: compacted ? 'latest-per-key' : 'every-record',
  }
}
