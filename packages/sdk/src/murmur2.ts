import murmur from 'murmurhash-js'

const SEED = 0x9747b28c

/** murmurhash-js reads charCodeAt(i) & 0xff, so it must see one char per byte: a latin1 view of the UTF-8 bytes. */
function byteString(key: string | Uint8Array): string {
  if (typeof key === 'string') {
    // Equal lengths mean every char is ASCII, and an ASCII string already is its own byte string.
    return Buffer.byteLength(key, 'utf8') === key.length ? key : Buffer.from(key, 'utf8').toString('latin1')
  }
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  return buf.toString('latin1')
}

/** Kafka's murmur2 of a key's bytes (a string is hashed as its UTF-8 bytes), as Java's signed 32-bit int. */
export function murmur2(key: string | Uint8Array): number {
  return murmur.murmur2(byteString(key), SEED) | 0
}

/** Java's Utils.toPositive: a mask, not Math.abs, so -2^31 maps to 0 as in the Java client. */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** @internal For a string already known to hold one byte per char (the producer checked its UTF-8 length). */
export function partitionOfByteString(bytes: string, partitions: number): number {
  return (murmur.murmur2(bytes, SEED) & 0x7fffffff) % partitions
}

/** The partition Kafka's Java client (and keyed) picks for a key of these bytes or this UTF-8 string. */
export function partitionFor(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${String(partitions)}`)
  }
  return toPositive(murmur2(key)) % partitions
}
