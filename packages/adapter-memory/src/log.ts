import type { IncomingRecord, OutgoingRecord, TopicSpec } from '@keyed/sdk/backend'

export interface StoredRecord {
  readonly offset: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: Readonly<Record<string, string>>
  readonly timestamp: number
  readonly appendedAt: number
  readonly size: number
}

/** The key as a map key; only compaction needs it, so it is not computed on append. */
const keyId = (key: Uint8Array | null): string | null =>
  key === null ? null : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')

/** One partition: an append-only log whose offsets never change, with holes where retention or compaction removed records. */
export class PartitionLog {
  /** Sorted by offset. Removal only ever filters, so offsets stay as assigned. */
  private records: StoredRecord[] = []
  private nextOffset = 0
  private dirty = false
  private waiters = new Set<() => void>()

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get logStartOffset(): number {
    return this.records[0]?.offset ?? this.nextOffset
  }

  get logEndOffset(): number {
    return this.nextOffset
  }

  append(record: OutgoingRecord, now: number): number {
    const offset = this.nextOffset++
    const size = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0) + 16
    this.records.push({
      offset,
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: record.timestamp,
      appendedAt: now,
      size,
    })
    this.dirty = true
    return offset
  }

  /** Wakes readers once after a batch of appends rather than once per record. */
  notify(): void {
    if (this.waiters.size === 0) return
    const waiters = this.waiters
    this.waiters = new Set()
    for (const wake of waiters) wake()
  }

  /** Resolves on the next append or when `cancel` is called. */
  waitForAppend(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void
    const promise = new Promise<void>((resolve) => (wake = resolve))
    this.waiters.add(wake)
    return { promise, cancel: () => (this.waiters.delete(wake), wake()) }
  }

  /** Records from `offset` on (the next surviving one when it was removed), at most `max`. */
  read(offset: number, max: number): IncomingRecord[] {
    let lo = 0
    let hi = this.records.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.records[mid]!.offset < offset) lo = mid + 1
      else hi = mid
    }
    const end = Math.min(this.records.length, lo + max)
    const out: IncomingRecord[] = new Array(end - lo)
    for (let i = lo; i < end; i++) {
      const r = this.records[i]!
      out[i - lo] = {
        topic: this.topic,
        partition: this.partition,
        offset: String(r.offset),
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
      }
    }
    return out
  }

  /** Applies time and size retention and, on compacted topics, compaction with Kafka's semantics. */
  clean(spec: TopicSpec, now: number): void {
    const deletes = spec.cleanupPolicy !== 'compact'
    const before = this.records.length
    let records = this.records
    if (deletes && spec.retentionMs !== undefined && spec.retentionMs >= 0) {
      const cutoff = now - spec.retentionMs
      records = records.filter((r) => r.timestamp >= cutoff)
    }
    if (spec.cleanupPolicy !== 'delete' && this.dirty) records = compact(records, spec, now)
    if (deletes && spec.retentionBytes !== undefined && spec.retentionBytes >= 0) {
      let bytes = records.reduce((n, r) => n + r.size, 0)
      let drop = 0
      while (bytes > spec.retentionBytes && drop < records.length) bytes -= records[drop++]!.size
      if (drop) records = records.slice(drop)
    }
    if (records.length !== before) this.records = records
    // Tombstones wait for their delete retention, so a compacted log stays dirty while it holds any.
    this.dirty = spec.cleanupPolicy !== 'delete' && records.some((r) => r.value === null)
  }
}

/**
 * Keeps the latest record of every key; offsets are unchanged. A record younger than minCompactionLagMs is never
 * removed, and a tombstone that is the latest of its key stays readable for deleteRetentionMs, so a consumer that
 * is behind still sees the delete.
 */
function compact(records: StoredRecord[], spec: TopicSpec, now: number): StoredRecord[] {
  const ids = records.map((r) => keyId(r.key))
  const latest = new Map<string, number>()
  records.forEach((r, i) => ids[i] !== null && latest.set(ids[i]!, r.offset))
  const lag = spec.minCompactionLagMs ?? 0
  const tombstoneRetention = spec.deleteRetentionMs ?? 86_400_000
  return records.filter((r, i) => {
    const id = ids[i]
    if (id === null || id === undefined || now - r.appendedAt < lag) return true
    if (latest.get(id) !== r.offset) return false
    return r.value !== null || now - r.appendedAt < tombstoneRetention
  })
}
