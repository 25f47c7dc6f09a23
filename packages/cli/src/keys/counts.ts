import { murmur2, toPositive } from '@keyed/sdk'

/**
 * Distinct keys with their record counts and positive murmur2 hashes (a key's partition for any count is
 * hash % count). Analyses walk them with forEach and turn only the few keys they show back into text.
 */
export interface KeySet {
  /** Every record, keyless ones included. */
  readonly records: number
  readonly keyless: number
  /** Keyless records per partition they were found in (topics only). */
  readonly keylessByPartition: ReadonlyMap<number, number>
  readonly distinct: number
  readonly keyed: number
  forEach(fn: (records: number, hash: number, id: number) => void): void
  keyOf(id: number): string
}

/**
 * Keys read from a topic. A key's identity is its text (UTF-8, or hex/base64 of binary keys) and its hash is of the
 * bytes it was written with, so a key that is not valid UTF-8 still lands where Kafka's Java client puts it.
 */
export class KeyCounts implements KeySet {
  private readonly ids = new Map<string, number>()
  private readonly keys: string[] = []
  private readonly counts: number[] = []
  private readonly hashes: number[] = []
  keyless = 0
  readonly keylessByPartition = new Map<number, number>()
  records = 0

  /** Adds a record of this key; returns the key's hash. */
  add(key: string, bytes: Uint8Array): number {
    const id = this.ids.get(key)
    this.records++
    if (id !== undefined) {
      this.counts[id]!++
      return this.hashes[id]!
    }
    const hash = toPositive(murmur2(bytes))
    this.ids.set(key, this.keys.length)
    this.keys.push(key)
    this.counts.push(1)
    this.hashes.push(hash)
    return hash
  }

  addKeyless(partition: number): void {
    this.keyless++
    this.records++
    this.keylessByPartition.set(partition, (this.keylessByPartition.get(partition) ?? 0) + 1)
  }

  get distinct(): number {
    return this.keys.length
  }

  get keyed(): number {
    return this.records - this.keyless
  }

  forEach(fn: (records: number, hash: number, id: number) => void): void {
    for (let id = 0; id < this.keys.length; id++) fn(this.counts[id]!, this.hashes[id]!, id)
  }

  keyOf(id: number): string {
    return this.keys[id]!
  }
}
