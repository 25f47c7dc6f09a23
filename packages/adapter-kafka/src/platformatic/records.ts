import type { IncomingRecord } from '@keyed/sdk/backend'
import type { Consumer } from '@platformatic/kafka'

/** Attribute bit of a record batch that holds a transaction marker, not records. */
const IS_CONTROL = 0x20
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>
type Partition = FetchResponse['responses'][number]['partitions'][number]

function headersOf(headers: readonly [Buffer | null, Buffer | null][]): Readonly<Record<string, string>> {
  if (headers.length === 0) return NO_HEADERS
  const out: Record<string, string> = {}
  // Repeated names collapse to the last one; a null value (a header used as a flag) keeps its name as ''.
  for (const [name, value] of headers) out[name?.toString('utf8') ?? ''] = value === null ? '' : value.toString('utf8')
  return out
}

/**
 * The records of one partition's fetch answer from `from` on, and the offset after its last batch (which may end in
 * records nobody sees: a transaction's marker), or undefined when it held no batch.
 */
export function recordsOf(
  topic: string,
  partition: number,
  answer: Partition,
  from: bigint,
): { records: IncomingRecord[]; next: bigint | undefined } {
  const records: IncomingRecord[] = []
  let next: bigint | undefined
  for (const batch of answer.records ?? []) {
    next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
    if (batch.attributes & IS_CONTROL) continue
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta)
      // A fetch starts at the batch holding `from`, which may begin before it.
      if (offset < from) continue
      records.push({
        topic,
        partition,
        offset: offset.toString(),
        key: r.key,
        value: r.value,
        headers: headersOf(r.headers),
        timestamp: Number(batch.firstTimestamp + r.timestampDelta),
      })
    }
  }
  return { records, next }
}
