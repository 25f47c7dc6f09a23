import type { IncomingRecord, OutgoingRecord } from '@keyed/sdk/backend'

const EMPTY = Buffer.alloc(0)

/** The five APPEND arguments of a record: flags (1 = key, 2 = value), key, value, headers JSON, timestamp. */
export function appendArgs(record: OutgoingRecord, out: Array<string | Buffer>): void {
  const flags = (record.key !== null ? 1 : 0) | (record.value !== null ? 2 : 0)
  out.push(
    String(flags),
    record.key === null ? EMPTY : toBuffer(record.key),
    record.value === null ? EMPTY : toBuffer(record.value),
    hasHeaders(record.headers) ? JSON.stringify(record.headers) : '',
    String(record.timestamp),
  )
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function hasHeaders(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return true
  return false
}

/** A stream entry as XREADGROUP returns it with buffer replies; fields are null when the entry was deleted. */
export type RawEntry = [Buffer, Buffer[] | null]

/** The record of a stream entry, or undefined for an entry deleted since it was delivered. */
export function decodeEntry(topic: string, partition: number, entry: RawEntry): IncomingRecord | undefined {
  const [id, fields] = entry
  if (!fields) return undefined
  let key: Buffer | null = null
  let value: Buffer | null = null
  let headers: Record<string, string> = {}
  let timestamp = 0
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!
    const data = fields[i + 1]!
    switch (name.length === 1 ? name[0] : 0) {
      case 0x6b: key = data; break // k
      case 0x76: value = data; break // v
      case 0x68: headers = JSON.parse(data.toString('utf8')) as Record<string, string>; break // h
      case 0x74: timestamp = Number(data.toString('latin1')); break // t
    }
  }
  return { topic, partition, offset: id.toString('latin1'), key, value, headers, timestamp }
}
