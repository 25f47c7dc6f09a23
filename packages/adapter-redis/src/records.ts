import type { IncomingRecord, OutgoingRecord } from '@keyed/sdk/backend'

type DecodeError = NonNullable<IncomingRecord['decodeError']>

/**
 * The records (at `indexes`) of one partition as the APPEND script's one argument: a MessagePack array of five
 * fields per record, flags (1 = key, 2 = value), key, value, headers JSON ('' = none) and timestamp (decimal), all but
 * the flags as MessagePack str (binary-safe in Lua; Redis's cmsgpack reads no bin). One argument instead of five per
 * record: ioredis frames and copies each argument on its own, which cost more than Redis's work per record.
 */
export function appendPayload(records: readonly OutgoingRecord[], indexes: readonly number[]): Buffer {
  const headers = new Array<string>(indexes.length)
  const timestamps = new Array<string>(indexes.length)
  let size = 5
  for (let n = 0; n < indexes.length; n++) {
    const r = records[indexes[n]!]!
    const h = hasHeaders(r.headers) ? JSON.stringify(r.headers) : ''
    const t = String(r.timestamp)
    headers[n] = h
    timestamps[n] = t
    size += 1 + strSize(r.key?.byteLength ?? 0) + strSize(h === '' ? 0 : Buffer.byteLength(h)) + strSize(t.length)
    size += strSize(r.value?.byteLength ?? 0)
  }
  const out = Buffer.allocUnsafe(size)
  out[0] = 0xdd // array 32
  out.writeUInt32BE(indexes.length * 5, 1)
  let o = 5
  for (let n = 0; n < indexes.length; n++) {
    const r = records[indexes[n]!]!
    out[o++] = (r.key !== null ? 1 : 0) | (r.value !== null ? 2 : 0)
    o = writeBytes(out, o, r.key)
    o = writeBytes(out, o, r.value)
    const h = headers[n]!
    if (h === '') o = strHeader(out, o, 0)
    else {
      const length = Buffer.byteLength(h)
      o = strHeader(out, o, length)
      o += out.write(h, o, length, 'utf8')
    }
    const t = timestamps[n]!
    o = strHeader(out, o, t.length)
    o += out.write(t, o, t.length, 'latin1')
  }
  return out
}

/** Bytes of a MessagePack str of `length` bytes, header included. */
const strSize = (length: number) => length + (length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5)

function strHeader(out: Buffer, o: number, length: number): number {
  if (length < 32) {
    out[o] = 0xa0 | length
    return o + 1
  }
  if (length < 0x100) {
    out[o] = 0xd9
    out[o + 1] = length
    return o + 2
  }
  if (length < 0x10000) {
    out[o] = 0xda
    out.writeUInt16BE(length, o + 1)
    return o + 3
  }
  out[o] = 0xdb
  out.writeUInt32BE(length, o + 1)
  return o + 5
}

function writeBytes(out: Buffer, o: number, bytes: Uint8Array | null): number {
  const length = bytes?.byteLength ?? 0
  o = strHeader(out, o, length)
  if (bytes !== null) out.set(bytes, o)
  return o + length
}

function hasHeaders(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return true
  return false
}

/** A stream entry as XREADGROUP returns it with buffer replies; fields are null when the entry was deleted. */
export type RawEntry = [Buffer, Buffer[] | null]

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})
const K = 0x6b
const V = 0x76
const H = 0x68
const T = 0x74

/**
 * The record of a stream entry, or undefined for an entry deleted since it was delivered. An entry another client
 * wrote that does not fit the layout (unknown or repeated fields, headers that are not a JSON map of strings, no or a
 * non-integer timestamp) comes back with `decodeError` saying why, for the SDK's deserialize failure path; its key and
 * value are the bytes found, its timestamp the entry id's time when `t` is unusable.
 */
export function decodeEntry(topic: string, partition: number, entry: RawEntry): IncomingRecord | undefined {
  const [id, fields] = entry
  if (!fields) return undefined
  const offset = id.toString('latin1')
  let key: Buffer | null = null
  let value: Buffer | null = null
  let headers = NO_HEADERS
  let timestamp = -1
  let seen = 0
  let decodeError: DecodeError | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!
    const data = fields[i + 1]!
    const code = name.length === 1 ? name[0]! : 0
    const bit = code === K ? 1 : code === V ? 2 : code === H ? 4 : code === T ? 8 : 0
    if (bit === 0 || (seen & bit) !== 0) {
      decodeError ??= {
        field: 'record',
        reason:
          bit === 0
            ? `unknown field '${printable(name)}' (keyed writes only k, v, h and t)`
            : `field '${printable(name)}' twice`,
      }
      continue
    }
    seen |= bit
    if (code === K) key = data
    else if (code === V) value = data
    else if (code === H) {
      const parsed = parseHeaders(data)
      if (typeof parsed === 'string') decodeError ??= { field: 'headers', reason: parsed }
      else headers = parsed
    } else {
      const text = data.toString('latin1')
      timestamp = /^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : -1
      if (timestamp < 0)
        decodeError ??= {
          field: 'timestamp',
          reason: `the timestamp (field 't') is not a non-negative integer of milliseconds`,
        }
    }
  }
  if ((seen & 8) === 0) decodeError ??= { field: 'timestamp', reason: `no 't' (timestamp) field` }
  if (decodeError === undefined) return { topic, partition, offset, key, value, headers, timestamp }
  if (timestamp < 0) timestamp = Number(offset.slice(0, offset.indexOf('-')))
  return { topic, partition, offset, key, value, headers, timestamp, decodeError }
}

/** The headers of field h, or what is wrong with them. */
function parseHeaders(data: Buffer): Record<string, string> | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(data.toString('utf8'))
  } catch {
    return `the headers (field 'h') are not JSON`
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return `the headers (field 'h') are not a JSON object`
  for (const [name, v] of Object.entries(parsed)) {
    if (typeof v !== 'string')
      return `the headers (field 'h') must map names to strings; '${printable(Buffer.from(name))}' holds ${v === null ? 'null' : typeof v}`
  }
  return parsed as Record<string, string>
}

/** A field or header name for a message: at most 40 characters, control characters escaped. */
function printable(bytes: Buffer): string {
  const text = bytes.toString('utf8')
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text).slice(1, -1)
}
