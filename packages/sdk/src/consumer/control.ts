import type { BackendConsumer, IncomingRecord, PartitionBatch, TopicPartition } from '../backend/contract.js'

const id = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** What was asked of a partition while one of its batches was being handled. */
interface Cut {
  /** seek(): where its next batch starts; nothing of the batch is committed. */
  seekTo: string | undefined
  /**
   * A seek waiting for the partition's range (to clamp its offset): nothing of the batch is committed, and the backend
   * is not moved when it returns (the seek moves it once the offset is known).
   */
  pending?: true
}

/** One batch being handled: the backend's, and what pause or seek asked meanwhile. */
export interface Flight {
  /** The backend's batch. */
  readonly raw: PartitionBatch
  /** The batch the handlers run on: inactive once cut. */
  readonly batch: PartitionBatch
  cut: Cut | undefined
}

interface TopicPause {
  /** pause(topic) without partitions: every partition, but those in `resumed`. */
  all: boolean
  readonly partitions: Set<number>
  readonly resumed: Set<number>
}

/**
 * Pause, resume and seek of a consumer's partitions. The pause is this consumer's, kept by topic and partition, so it
 * outlives rebalances and member rebuilds; a backend only stops fetching (BackendConsumer.pause). A batch of a partition
 * that is paused or sought while it is handled is cut: no record of it starts any more, those in flight finish; a pause
 * commits what finished and rewinds the backend to the first record that did not, a seek commits nothing of the batch
 * and moves the backend to the sought offset, both before the batch returns to the backend (the contract's seek rule).
 */
export class PartitionControl {
  private readonly paused = new Map<string, TopicPause>()
  private readonly flights = new Map<string, Flight>()
  /**
   * Offsets of a paused partition that finished past the rewind point (concurrency finishes keys out of order): the
   * re-read after resume skips them, so they are not handled twice. Dropped once read again, sought or lost.
   */
  private readonly finishedAhead = new Map<string, Set<string>>()
  /** Seeks waiting for their partition's range, by partition: the latest one's ticket (an earlier one is superseded). */
  private readonly pendingSeeks = new Map<string, number>()
  private tickets = 0

  isPaused(topic: string, partition: number): boolean {
    const state = this.paused.get(topic)
    if (!state) return false
    return state.all ? !state.resumed.has(partition) : state.partitions.has(partition)
  }

  /** Every paused partition among the topics' partition counts, for a member being built. */
  pausedOf(partitionCounts: ReadonlyMap<string, number>): TopicPartition[] {
    const out: TopicPartition[] = []
    for (const [topic, count] of partitionCounts)
      for (let partition = 0; partition < count; partition++)
        if (this.isPaused(topic, partition)) out.push({ topic, partition })
    return out
  }

  /** Records the pause and cuts the batches in flight of those partitions. */
  pause(topic: string, partitions: readonly number[] | undefined): void {
    const state = this.paused.get(topic) ?? { all: false, partitions: new Set<number>(), resumed: new Set<number>() }
    this.paused.set(topic, state)
    if (partitions === undefined) {
      state.all = true
      state.partitions.clear()
      state.resumed.clear()
    } else
      for (const p of partitions) {
        state.partitions.add(p)
        state.resumed.delete(p)
      }
    for (const flight of this.flights.values())
      if (flight.raw.topic === topic && this.isPaused(topic, flight.raw.partition)) flight.cut ??= { seekTo: undefined }
  }

  resume(topic: string, partitions: readonly number[] | undefined): void {
    const state = this.paused.get(topic)
    if (!state) return
    if (partitions === undefined) this.paused.delete(topic)
    else
      for (const p of partitions) {
        state.partitions.delete(p)
        if (state.all) state.resumed.add(p)
      }
  }

  /** True when the seek waits for the batch in flight to return (it is cut); false when the backend can take it now. */
  seek(topic: string, partition: number, offset: string): boolean {
    this.finishedAhead.delete(id(topic, partition))
    this.pendingSeeks.delete(id(topic, partition))
    const flight = this.flights.get(id(topic, partition))
    if (!flight) return false
    flight.cut = { seekTo: offset }
    return true
  }

  /**
   * A seek whose offset is known later (once the partition's range is): from now until sought(), the batch in flight
   * and every batch handed over is cut, nothing of them committed and no record started. Returns the seek's ticket.
   */
  seekLater(topic: string, partition: number): number {
    const key = id(topic, partition)
    this.finishedAhead.delete(key)
    const ticket = ++this.tickets
    this.pendingSeeks.set(key, ticket)
    const flight = this.flights.get(key)
    if (flight) flight.cut = { seekTo: undefined, pending: true }
    return ticket
  }

  /**
   * The offset of seekLater()'s seek: true when the backend can take it now; false when the batch in flight takes it
   * as it returns, or when the seek was superseded (a later seek) or dropped (the partition revoked meanwhile).
   */
  sought(topic: string, partition: number, ticket: number, offset: string): boolean {
    const key = id(topic, partition)
    if (this.pendingSeeks.get(key) !== ticket) return false
    this.pendingSeeks.delete(key)
    const flight = this.flights.get(key)
    if (!flight) return true
    flight.cut = { seekTo: offset }
    return false
  }

  /** Partitions revoked: their pending seeks are dropped (a seek is for the partition this member owned). */
  revoked(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.pendingSeeks.delete(id(tp.topic, tp.partition))
  }

  /**
   * A batch the backend hands over: cut at once when its partition is paused (it was fetched before the pause). Records
   * that finished before a pause cut the partition's last batch are left out: they are not handled again.
   */
  begin(raw: PartitionBatch): Flight {
    const ahead = this.finishedAhead.get(id(raw.topic, raw.partition))
    const records = ahead ? raw.records.filter((record) => !ahead.has(record.offset)) : raw.records
    const flight: Flight = {
      raw,
      batch: { ...raw, records, isActive: () => flight.cut === undefined && raw.isActive() },
      cut: this.pendingSeeks.has(id(raw.topic, raw.partition))
        ? { seekTo: undefined, pending: true }
        : this.isPaused(raw.topic, raw.partition)
          ? { seekTo: undefined }
          : undefined,
    }
    this.flights.set(id(raw.topic, raw.partition), flight)
    return flight
  }

  /** False while the partition's batch in flight was sought away from: nothing of it is committed over the seek. */
  mayCommit(topic: string, partition: number): boolean {
    const cut = this.flights.get(id(topic, partition))?.cut
    return cut === undefined || (cut.seekTo === undefined && !cut.pending)
  }

  /**
   * The end of the backend batch's finished prefix, given `last`, the end of the handled batch's: the records left out
   * right after it (finished before a pause) are finished too.
   */
  prefixEnd(flight: Flight, last: IncomingRecord | undefined): IncomingRecord | undefined {
    const ahead = this.finishedAhead.get(id(flight.raw.topic, flight.raw.partition))
    if (!ahead) return last
    const { records } = flight.raw
    let next = last ? records.indexOf(last) + 1 : 0
    while (next < records.length && ahead.has(records[next]!.offset)) next++
    return next > 0 ? records[next - 1] : undefined
  }

  /**
   * The batch is done (`last` the end of its finished prefix, `finished` the records that finished past it): a cut
   * batch moves the backend's position, to the sought offset or to the first record that did not finish, unless the
   * partition was lost meanwhile; a paused one remembers what finished past that record, for the re-read to skip.
   */
  end(
    flight: Flight,
    member: BackendConsumer,
    last: IncomingRecord | undefined,
    finished: readonly IncomingRecord[] = [],
  ): void {
    const { cut, raw } = flight
    const key = id(raw.topic, raw.partition)
    if (this.flights.get(key) === flight) this.flights.delete(key)
    const ahead = this.finishedAhead.get(key)
    this.finishedAhead.delete(key)
    // The common case, a whole batch neither cut nor re-read: nothing to keep, nowhere to move (no pass over its records).
    if (!cut && !ahead) return
    if (!raw.isActive()) return
    const end = this.prefixEnd(flight, last)
    const from = end ? raw.records.indexOf(end) + 1 : 0
    // What was left out and not reached yet stays left out, with what finished past the prefix now.
    const kept = new Set<string>()
    if (cut?.seekTo === undefined && !cut?.pending) {
      const seen = new Set(raw.records.map((record) => record.offset))
      for (const offset of ahead ?? []) if (!seen.has(offset)) kept.add(offset)
      if (cut) {
        for (const record of raw.records.slice(from)) if (ahead?.has(record.offset)) kept.add(record.offset)
        for (const record of finished) kept.add(record.offset)
      }
    }
    if (kept.size > 0) this.finishedAhead.set(key, kept)
    // A pending seek moves the backend once its offset is known.
    if (!cut || cut.pending) return
    const offset = cut.seekTo ?? raw.records[from]?.offset
    if (offset !== undefined) member.seek?.({ topic: raw.topic, partition: raw.partition, offset })
  }
}
