import type { OutgoingRecord } from '@keyed/sdk/backend'

/** Bytes of a record batch's header in Kafka's format v2 (log overhead, CRC, attributes, producer state, count). */
export const BATCH_OVERHEAD = 61

/** Length of a zigzag varint, as Kafka writes record fields. */
function varint(n: number): number {
  let v = n >= 0 ? n * 2 : -n * 2 - 1
  let bytes = 1
  while (v >= 128) {
    v = Math.floor(v / 128)
    bytes++
  }
  return bytes
}

const bytes = (b: Uint8Array | null) => (b === null ? varint(-1) : varint(b.byteLength) + b.byteLength)

/** Size of one record inside an uncompressed v2 batch (Kafka's DefaultRecord.sizeInBytes). */
export function recordSize(record: OutgoingRecord, offsetDelta: number, timestampDelta: number): number {
  let body = 1 + varint(timestampDelta) + varint(offsetDelta) + bytes(record.key) + bytes(record.value)
  const names = Object.keys(record.headers)
  body += varint(names.length)
  for (const name of names) {
    const key = Buffer.byteLength(name)
    const value = Buffer.byteLength(record.headers[name]!)
    body += varint(key) + key + varint(value) + value
  }
  return varint(body) + body
}
