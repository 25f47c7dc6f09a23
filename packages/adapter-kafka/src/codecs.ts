import kafkajs from 'kafkajs'
import { compressFrame, decompressFrame } from 'lz4-napi'
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd'
import snappy from 'snappy'
import type { Compression } from '@keyed/sdk/backend'

const { CompressionCodecs, CompressionTypes } = kafkajs

export const COMPRESSION_TYPES: Record<Compression, kafkajs.CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

/** kafkajs hands compress() its encoder; only the bytes matter here. */
interface Encoder {
  readonly buffer: Buffer
}

// Java's snappy-java writes the xerial stream format: a 16-byte header, then blocks of [int32 length][raw snappy].
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])])
const XERIAL_BLOCK = 32 * 1024

export function snappyDecode(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER.length || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappy.uncompressSync(buffer) as Buffer
  }
  const blocks: Buffer[] = []
  for (let at = XERIAL_HEADER.length; at < buffer.length;) {
    const length = buffer.readInt32BE(at)
    blocks.push(snappy.uncompressSync(buffer.subarray(at + 4, at + 4 + length)) as Buffer)
    at += 4 + length
  }
  return Buffer.concat(blocks)
}

export function snappyEncode(buffer: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER]
  for (let at = 0; at < buffer.length; at += XERIAL_BLOCK) {
    const block = snappy.compressSync(buffer.subarray(at, at + XERIAL_BLOCK))
    const length = Buffer.alloc(4)
    length.writeInt32BE(block.length)
    parts.push(length, block)
  }
  return Buffer.concat(parts)
}

const CODECS: Record<
  kafkajs.CompressionTypes.Snappy | kafkajs.CompressionTypes.LZ4 | kafkajs.CompressionTypes.ZSTD,
  Codec
> = {
  [CompressionTypes.Snappy]: {
    compress: (e: Encoder) => Promise.resolve(snappyEncode(e.buffer)),
    decompress: (b: Buffer) => Promise.resolve(snappyDecode(b)),
  },
  // Kafka (record format v2) uses the standard LZ4 frame format with independent blocks, what lz4_flex writes.
  [CompressionTypes.LZ4]: {
    compress: (e: Encoder) => compressFrame(e.buffer),
    decompress: (b: Buffer) => decompressFrame(b),
  },
  [CompressionTypes.ZSTD]: {
    compress: (e: Encoder) => zstdCompress(e.buffer, 3),
    decompress: (b: Buffer) => zstdDecompress(b),
  },
}

interface Codec {
  compress(encoder: Encoder): Promise<Buffer>
  decompress(buffer: Buffer): Promise<Buffer>
}

let registered = false

/**
 * Teaches kafkajs snappy, lz4 and zstd (it knows gzip only). kafkajs keeps codecs in one module-wide table, so this
 * also serves any other kafkajs user in the process sharing this copy of kafkajs; it only adds codecs.
 */
export function registerCodecs(): void {
  if (registered) return
  registered = true
  CompressionCodecs[CompressionTypes.Snappy] = () => CODECS[CompressionTypes.Snappy]
  CompressionCodecs[CompressionTypes.LZ4] = () => CODECS[CompressionTypes.LZ4]
  CompressionCodecs[CompressionTypes.ZSTD] = () => CODECS[CompressionTypes.ZSTD]
}
