// Kafka's murmur2 (Java's Utils.murmur2), written over bytes with Math.imul: no string conversion, no 64-bit emulation.
const SEED = 0x9747b28c
const M = 0x5bd1e995

/** murmur2 of the first `length` bytes of `data`, as Java's signed 32-bit int. */
function hashBytes(data: Uint8Array, length: number): number {
  let h = SEED ^ length
  const blocks = length & ~3
  let i = 0
  for (; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    h = Math.imul(h, M) ^ Math.imul(k, M)
  }
  const rest = length & 3
  if (rest > 0) {
    if (rest === 3) h ^= data[i + 2]! << 16
    if (rest >= 2) h ^= data[i + 1]! << 8
    h = Math.imul(h ^ data[i]!, M)
  }
  return final(h)
}

function final(h: number): number {
  h ^= h >>> 13
  h = Math.imul(h, M)
  return (h ^ (h >>> 15)) | 0
}

const encoder = new TextEncoder()
/** Reused for non-ASCII keys up to this size; UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const SCRATCH_BYTES = 3 * 1024
const scratch = new Uint8Array(SCRATCH_BYTES)

/** A non-ASCII string: encoded as UTF-8 into the reused buffer (Java's String.getBytes(UTF_8)) and hashed in place. */
function hashUtf8(key: string): number {
  const target = key.length * 3 <= SCRATCH_BYTES ? scratch : new Uint8Array(key.length * 3)
  return hashBytes(target, encoder.encodeInto(key, target).written)
}

/** An ASCII string is its own UTF-8: hashed from its char codes; the first non-ASCII char hands over to hashUtf8. */
function hashString(key: string): number {
  const length = key.length
  let h = SEED ^ length
  const blocks = length & ~3
  let i = 0
  for (; i < blocks; i += 4) {
    const a = key.charCodeAt(i)
    const b = key.charCodeAt(i + 1)
    const c = key.charCodeAt(i + 2)
    const d = key.charCodeAt(i + 3)
    if ((a | b | c | d) > 0x7f) return hashUtf8(key)
    let k = a | (b << 8) | (c << 16) | (d << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    h = Math.imul(h, M) ^ Math.imul(k, M)
  }
  const rest = length & 3
  if (rest > 0) {
    const a = key.charCodeAt(i)
    const b = rest >= 2 ? key.charCodeAt(i + 1) : 0
    const c = rest === 3 ? key.charCodeAt(i + 2) : 0
    if ((a | b | c) > 0x7f) return hashUtf8(key)
    h = Math.imul(h ^ (c << 16) ^ (b << 8) ^ a, M)
  }
  return final(h)
}

/** Kafka's murmur2 of a key's bytes (a string is hashed as its UTF-8 bytes), as Java's signed 32-bit int. */
export function murmur2(key: string | Uint8Array): number {
  return typeof key === 'string' ? hashString(key) : hashBytes(key, key.length)
}

/** Java's Utils.toPositive: a mask, not Math.abs, so -2^31 maps to 0 as in the Java client. */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's Java client (and keyed) picks for a key of these bytes or this UTF-8 string. */
export function partitionFor(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${String(partitions)}`)
  }
  return toPositive(murmur2(key)) % partitions
}
