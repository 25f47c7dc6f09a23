import { murmur2, toPositive } from '@keyed/sdk'

/** One distinct key: how often it occurs and its positive murmur2 hash (its partition for any count is hash % count). */
export interface KeyEntry {
  readonly key: string
  readonly records: number
  readonly hash: number
}

/**
 * Records per distinct key. Keys from a file are strings hashed as their UTF-8 bytes; keys read from a topic are
 * hashed as the bytes they were written with (addHashed), so a key that is not valid UTF-8 still lands where Kafka's
 * Java client puts it. Hashes are computed once per distinct key, not per record.
 */
export class KeyCounts {
  readonly counts = new Map<string, number>()
  /** Hashes of keys added with their bytes; string keys are hashed when entries() runs. */
  private readonly hashes = new Map<string, number>()
  keyless = 0
  /** Keyless records per partition they were found in (topics only). */
  readonly keylessByPartition = new Map<number, number>()
  records = 0

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    this.records++
  }

  /** A key whose identity is `key` (its UTF-8 text, or hex/base64 of binary keys) and whose bytes are `bytes`; returns its hash. */
  addHashed(key: string, bytes: Uint8Array): number {
    const seen = this.counts.get(key)
    let hash = this.hashes.get(key)
    if (hash === undefined) this.hashes.set(key, (hash = toPositive(murmur2(bytes))))
    this.counts.set(key, (seen ?? 0) + 1)
    this.records++
    return hash
  }

  addKeyless(partition: number): void {
    this.keyless++
    this.records++
    this.keylessByPartition.set(partition, (this.keylessByPartition.get(partition) ?? 0) + 1)
  }

  get keyed(): number {
    return this.records - this.keyless
  }

  *entries(): IterableIterator<KeyEntry> {
    for (const [key, records] of this.counts) yield { key, records, hash: this.hashes.get(key) ?? toPositive(murmur2(key)) }
  }

  /** Adds the lines of UTF-8 text as keys: one key per line, '\n' or '\r\n'; the newline that ends the text adds no key. */
  addLines(text: string): void {
    const counts = this.counts
    let start = 0
    let n = 0
    const length = text.length
    while (start < length) {
      let end = text.indexOf('\n', start)
      if (end < 0) end = length
      const key = text.charCodeAt(end - 1) === 13 && end > start ? text.slice(start, end - 1) : text.slice(start, end)
      counts.set(key, (counts.get(key) ?? 0) + 1)
      n++
      start = end + 1
    }
    this.records += n
  }
}
