/**
 * Node's Buffer where Node's types are loaded, else Uint8Array (which a Buffer is): keeps @types/node out of the public
 * types of @keyed/sdk/backend, which every adapter's .d.ts imports.
 */
type NodeBuffer = typeof globalThis extends { Buffer: abstract new (...args: never) => infer B } ? B : Uint8Array

/** A Buffer view of bytes without a copy (a Buffer is returned as is), for Buffer-only APIs (toString, ioredis, kafkajs). */
export function toBuffer(bytes: Uint8Array): NodeBuffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
