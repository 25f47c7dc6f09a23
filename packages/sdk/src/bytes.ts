/**
 * Node's Buffer where Node's types are loaded, else Uint8Array (which a Buffer is): keeps @types/node out of the public
 * types of @keyed/sdk/backend, which every adapter's .d.ts imports.
 */
type NodeBuffer = typeof globalThis extends { Buffer: abstract new (...args: never) => infer B } ? B : Uint8Array

/** A Buffer view of bytes without a copy (a Buffer is returned as is), for Buffer-only APIs (toString, ioredis, kafkajs). */
export function toBuffer(bytes: Uint8Array): NodeBuffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * The bytes as UTF-8 text, malformed sequences as U+FFFD (Buffer's decoding). Buffer's toString() without arguments
 * is its UTF-8 fast path: toString('utf8') looks the encoding up and goes through a wrapper on every call.
 */
export function utf8(bytes: Uint8Array): string {
  return toBuffer(bytes).toString()
}
