import { partitionFor } from '@keyed/sdk'
import type {
  Backend,
  BackendConsumer,
  GroupPartitionOffset,
  OutgoingRecord,
  PartitionBatch,
  ProducerSettings,
  TopicSpec,
} from '@keyed/sdk/backend'
import { isCompacted, isKeyedError, type KeyedError } from '@keyed/sdk/backend'
import { reachesEnd } from '../offsets.js'
import { readAll } from '../read-topic.js'
import { CopiedUpTo, ORIGIN_HEADER, originOf } from './origin.js'

export interface CopyOptions {
  readonly backend: Backend
  readonly source: TopicSpec
  readonly to: string
  readonly partitions: number
  readonly groupId: string
  readonly batch: number
  /** The target was just created, so it holds nothing yet. */
  readonly created: boolean
  /** `done`: source records of this run whose batch is committed (copied or skipped); `remaining`: the group's lag. */
  readonly onProgress: (done: number, remaining: number) => void
}

export interface CopyOutcome {
  readonly copied: number
  /** Records redelivered after a crash that the target already held. */
  readonly skipped: number
  /** The source's ends the copy reached (the group's committed positions, lag 0). */
  readonly sourceEnds: Map<number, string>
  /** Time spent copying: from the group's first join to lag 0. */
  readonly copyMs: number
}

/**
 * The settings producer({ ordering: 'strict' }) pins: idempotent, acks from all in-sync replicas, one request in flight.
 * The copy sends the source's bytes as they are, with partitions it computed (keyed's murmur2), straight to the
 * backend's producer: the SDK producer's decode-free path measured at about half the raw loop's rate on Kafka (bench/migrate.ts).
 */
const STRICT: ProducerSettings = {
  idempotent: true,
  acks: 'all',
  maxInFlight: 1,
  retries: 10,
  clientId: 'keyed-migrate',
}

/** Where a record goes in the target: murmur2 of its key over the new count; a keyless one stays with its source partition's records. */
const targetPartition = (key: Uint8Array | null, sourcePartition: number, partitions: number) =>
  key === null ? sourcePartition % partitions : partitionFor(key, partitions)

/** What the target holds already, per (source partition, target partition): read once when resuming onto a non-empty target. */
async function alreadyCopied(backend: Backend, to: string): Promise<CopiedUpTo> {
  const copied = new CopiedUpTo()
  await readAll({
    backend,
    topic: to,
    onRecords(records, partition) {
      for (const r of records) {
        const origin = originOf(r)
        if (origin) copied.note(origin.partition, partition, origin.offset)
      }
    },
  })
  return copied
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A lookup that may hit a passing state (a new topic's leaders still being announced): tried again a few times. */
async function patiently<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= 10 || !isKeyedError(error) || !error.retriable) throw error
      await sleep(500)
    }
  }
}

/**
 * Copies the source into the target through a consumer group of the migration's own, committing each source batch
 * after the strict producer stored it. Per source partition one batch at a time, so each key (which lives in one
 * source partition) is written in its source order. Done when the group's lag is 0 everywhere with the group stopped.
 */
export async function copyTopic(options: CopyOptions): Promise<CopyOutcome> {
  const { backend, source, to, partitions, groupId } = options
  const positions = () => patiently(() => backend.committedOffsets!(groupId, [source.name]))
  const lagOf = (rows: readonly GroupPartitionOffset[]) => rows.reduce((sum, r) => sum + r.lag, 0)
  const resumed =
    !options.created &&
    (await patiently(() => backend.endOffsets!(to))).some((e) => e.offset !== '0' && e.offset !== '0-0')
  const copiedUpTo = resumed ? await alreadyCopied(backend, to) : new CopiedUpTo()
  const producer = backend.producer(STRICT)
  let copied = 0
  let skipped = 0
  /** Source records whose batch was committed: what the group's lag no longer counts (copied counts them at the send). */
  let committed = 0
  let fatal: KeyedError | undefined
  /** This round's ends, and the partitions whose commits reached them: the round is over when all did. */
  let ends = new Map<number, string>()
  const reached = new Set<number>()
  let wake: (() => void) | undefined

  const onBatch = async (batch: PartitionBatch, member: BackendConsumer) => {
    const out: OutgoingRecord[] = []
    const offsets: string[] = []
    // Per target partition, the index in `out` of this batch's last record there: only it carries the origin header
    // (kafkajs encodes headers slowly; one per pair and batch is all a resume needs, since each pair's records of a
    // batch land together or not at all).
    const lastOf = new Map<number, number>()
    const sp = batch.partition
    for (const r of batch.records) {
      const tp = targetPartition(r.key, sp, partitions)
      if (copiedUpTo.has(sp, tp, r.offset)) {
        skipped++
        continue
      }
      lastOf.set(tp, out.length)
      offsets.push(r.offset)
      out.push({ topic: to, partition: tp, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })
    }
    if (out.length > 0) {
      for (const i of lastOf.values())
        out[i] = { ...out[i]!, headers: { ...out[i]!.headers, [ORIGIN_HEADER]: `${sp}/${offsets[i]!}` } }
      await producer.send(out)
      for (const [tp, i] of lastOf) copiedUpTo.note(sp, tp, offsets[i]!)
      copied += out.length
    }
    const last = batch.records[batch.records.length - 1]
    if (last && batch.isActive()) {
      await member.commit([{ topic: source.name, partition: sp, offset: last.offset }])
      committed += batch.records.length
      const end = ends.get(sp)
      if (end !== undefined && reachesEnd(last.offset, end) && !reached.has(sp)) {
        reached.add(sp)
        if (reached.size === ends.size) wake?.()
      }
    }
  }

  try {
    let rows = await positions()
    const copyStart = performance.now()
    const total = lagOf(rows)
    options.onProgress(0, total)
    for (;;) {
      if (lagOf(rows) === 0) break
      ends = new Map(rows.map((r) => [r.partition, r.end]))
      reached.clear()
      for (const r of rows) if (r.lag === 0) reached.add(r.partition)
      const member: BackendConsumer = backend.consumer({
        groupId,
        clientId: 'keyed-migrate',
        subscriptions: [{ topic: source.name, fromBeginning: true }],
        onBatch: (batch) => onBatch(batch, member),
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1000,
        maxBatchSize: options.batch,
        onFatal: (error) => (fatal = error),
      })
      await member.start()
      try {
        for (;;) {
          // Woken by the commit that reaches the last end, else every second for progress (and for ends no record
          // names, such as after a Kafka transaction's marker: the backend commits past it, the lag then says 0).
          await Promise.race([sleep(1000), new Promise<void>((resolve) => (wake = resolve))])
          if (fatal) throw fatal
          // Taken before the lag is asked: a commit between the two can only make the total fall short, never count twice.
          const done = committed
          rows = await positions()
          options.onProgress(done, lagOf(rows))
          if (lagOf(rows) === 0) break
        }
      } finally {
        await member.close()
      }
      // Records written to the source meanwhile: another round.
      rows = await positions()
    }
    options.onProgress(committed, 0)
    return {
      copied,
      skipped,
      sourceEnds: new Map(rows.map((r) => [r.partition, r.end])),
      copyMs: performance.now() - copyStart,
    }
  } finally {
    await producer.close().catch(() => undefined)
  }
}

export const compactedSpec = (spec: TopicSpec) => isCompacted(spec)
