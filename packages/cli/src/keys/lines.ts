import { murmur2, toPositive } from '@keyed/sdk'
import { toBuffer } from '@keyed/sdk/backend'
import type { KeySet } from './counts.js'

/**
 * Keys of a text, one per line ('\n' or '\r\n'; the newline ending the text adds no key), counted without making a
 * string per line: each line's UTF-8 bytes are hashed in place with keyed's murmur2 (what Kafka's Java client hashes
 * for a string key), and an open-addressing table keyed by that hash finds the distinct keys, comparing bytes only
 * when two lines share a hash. Only the keys an analysis shows become strings. An empty line is the empty key.
 */
export class LineKeys implements KeySet {
  readonly keyless = 0
  readonly keylessByPartition: ReadonlyMap<number, number> = new Map()
  records = 0
  distinct = 0
  private starts = new Int32Array(1024)
  private ends = new Int32Array(1024)
  private counts = new Int32Array(1024)
  private hashes = new Int32Array(1024)
  /** Slots hold id + 1; 0 is empty. Kept under half full. */
  private table = new Int32Array(2048)

  /** The text's bytes: any Uint8Array (a Buffer is one), so the public types need no @types/node. */
  constructor(private readonly text: Uint8Array) {
    const buf = text
    const length = buf.length
    let start = 0
    while (start < length) {
      let end = buf.indexOf(10, start)
      if (end < 0) end = length
      const stop = end > start && buf[end - 1] === 13 ? end - 1 : end
      this.addLine(start, stop)
      start = end + 1
    }
  }

  get keyed(): number {
    return this.records
  }

  private addLine(start: number, end: number): void {
    this.records++
    const buf = this.text
    const hash = toPositive(murmur2(buf.subarray(start, end)))
    const mask = this.table.length - 1
    const length = end - start
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot]!
      if (entry === 0) {
        this.insert(slot, start, end, hash)
        return
      }
      const id = entry - 1
      if (
        this.hashes[id] === hash &&
        this.ends[id]! - this.starts[id]! === length &&
        this.sameBytes(this.starts[id]!, start, length)
      ) {
        this.counts[id]!++
        return
      }
    }
  }

  private sameBytes(a: number, b: number, length: number): boolean {
    const buf = this.text
    for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false
    return true
  }

  private insert(slot: number, start: number, end: number, hash: number): void {
    const id = this.distinct++
    if (id === this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2)
        b.set(a)
        return b
      }
      this.starts = grow(this.starts)
      this.ends = grow(this.ends)
      this.counts = grow(this.counts)
      this.hashes = grow(this.hashes)
    }
    this.starts[id] = start
    this.ends[id] = end
    this.counts[id] = 1
    this.hashes[id] = hash
    this.table[slot] = id + 1
    if (this.distinct * 2 > this.table.length) this.rehash()
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2)
    const mask = table.length - 1
    for (let id = 0; id < this.distinct; id++) {
      let slot = this.hashes[id]! & mask
      while (table[slot] !== 0) slot = (slot + 1) & mask
      table[slot] = id + 1
    }
    this.table = table
  }

  forEach(fn: (records: number, hash: number, id: number) => void): void {
    for (let id = 0; id < this.distinct; id++) fn(this.counts[id]!, this.hashes[id]!, id)
  }

  keyOf(id: number): string {
    return toBuffer(this.text).toString('utf8', this.starts[id], this.ends[id])
  }
}
