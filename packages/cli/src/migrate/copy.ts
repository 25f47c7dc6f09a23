import { createClient, defineTopic, partitionFor, serdes, type Producer } from '@keyed/sdk'
import type { Backend, BackendConsumer, GroupPartitionOffset, PartitionBatch, TopicSpec } from '@keyed/sdk/backend'
import { isCompacted, type KeyedError } from '@keyed/sdk/backend'
import { readAll } from '../read-topic.js'
import { CopiedUpTo, ORIGIN_HEADER, originOf } from './origin.js'

export interface CopyOptions {
  readonly backend: Backend
  readonly source: TopicSpec
  readonly to: string
  readonly partitions: number
  readonly groupId: string
  readonly batch: number
  readonly onProgress: (copied: number, remaining: number) => void
}

export interface CopyOutcome {
  readonly copied: number
  /** Records redelivered after a crash that the target already held. */
  readonly skipped: number
  /** The source's ends the copy reached (the group's committed positions, lag 0). */
  readonly sourceEnds: Map<number, string>
}

/** Where a record goes in the target: murmur2 of its key over the new count; a keyless one stays with its source partition's records. */
const targetPartition = (key: Uint8Array | null, sourcePartition: number, partitions: number) => (key === null ? sourcePartition % partitions : partitionFor(key, partitions))

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

/**
 * Copies the source into the target through a consumer group of the migration's own, committing each source batch
 * after the strict producer stored it. Per source partition one batch at a time, so each key (which lives in one
 * source partition) is written in its source order. Done when the group's lag is 0 everywhere with the group stopped.
 */
export async function copyTopic(options: CopyOptions): Promise<CopyOutcome> {
  const { backend, source, to, partitions, groupId } = options
  const positions = () => backend.committedOffsets!(groupId, [source.name])
  const lagOf = (rows: readonly GroupPartitionOffset[]) => rows.reduce((sum, r) => sum + r.lag, 0)
  const targetEnds = await backend.endOffsets!(to)
  const resumed = targetEnds.some((e) => e.offset !== '0' && e.offset !== '0-0')
  const copiedUpTo = resumed ? await alreadyCopied(backend, to) : new CopiedUpTo()
  const client = createClient({ backend, clientId: 'keyed-migrate', autoCreateTopics: false })
  const target = defineTopic(to, { key: serdes.bytes(), value: serdes.bytes(), ordering: 'none', cleanupPolicy: source.cleanupPolicy, partitions })
  const producer: Producer = client.producer({ ordering: 'strict' })
  type Out = { key: Uint8Array | undefined; value: Uint8Array | null; headers: Record<string, string>; partition: number; timestamp: number }
  let copied = 0
  let skipped = 0
  let fatal: KeyedError | undefined

  const onBatch = async (batch: PartitionBatch, member: BackendConsumer) => {
    const out: Out[] = []
    const sp = batch.partition
    for (const r of batch.records) {
      const tp = targetPartition(r.key, sp, partitions)
      if (copiedUpTo.has(sp, tp, r.offset)) {
        skipped++
        continue
      }
      out.push({ key: r.key ?? undefined, value: r.value, headers: { ...r.headers, [ORIGIN_HEADER]: `${sp}/${r.offset}` }, partition: tp, timestamp: r.timestamp })
    }
    if (out.length > 0) {
      // Compacted topics take null values (tombstones); the declared topic is typed loosely on purpose.
      await producer.send(target as never, out as never)
      for (const o of out) copiedUpTo.note(sp, o.partition, o.headers[ORIGIN_HEADER]!.slice(String(sp).length + 1))
      copied += out.length
    }
    const last = batch.records[batch.records.length - 1]
    if (last && batch.isActive()) await member.commit([{ topic: source.name, partition: sp, offset: last.offset }])
  }

  try {
    let rows = await positions()
    const total = lagOf(rows)
    options.onProgress(0, total)
    for (;;) {
      if (lagOf(rows) === 0) break
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
          await sleep(250)
          if (fatal) throw fatal
          rows = await positions()
          options.onProgress(copied + skipped, lagOf(rows))
          if (lagOf(rows) === 0) break
        }
      } finally {
        await member.close()
      }
      // Records written to the source meanwhile: another round.
      rows = await positions()
    }
    options.onProgress(copied + skipped, 0)
    return { copied, skipped, sourceEnds: new Map(rows.map((r) => [r.partition, r.end])) }
  } finally {
    await producer.close().catch(() => undefined)
  }
}

export const compactedSpec = (spec: TopicSpec) => isCompacted(spec)
