/** A Buffer view of bytes without a copy (a Buffer is returned as is), for Buffer-only APIs (toString, ioredis, kafkajs). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
