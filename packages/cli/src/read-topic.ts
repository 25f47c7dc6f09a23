import type { Backend, IncomingRecord } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import { beforeEnd } from './offsets.js'

export interface ReadAllOptions {
  readonly backend: Backend
  readonly topic: string
  /** Stop after about this many records, taken from the start of each partition in proportion to its size. */
  readonly sample?: number | undefined
  /** Per partition, where to stop (an end from endOffsets() or committedOffsets()); now's ends when absent. */
  readonly until?: ReadonlyMap<number, string>
  /** Called with each batch's records, in offset order per partition. */
  onRecords(records: readonly IncomingRecord[], partition: number): void
  readonly onProgress?: ((records: number) => void) | undefined
}

/**
 * Per-partition caps of a sample. Kafka's and memory's ends are offsets, so a partition's size is about its end; Redis
 * ends are entry ids, which say nothing about size, so each partition gets an equal share there.
 */
function sampleCaps(until: ReadonlyMap<number, string>, sample: number): Map<number, number> {
  const ends = [...until]
  const numeric = ends.every(([, end]) => /^\d+$/.test(end))
  const total = numeric ? ends.reduce((sum, [, end]) => sum + Number(end), 0) : 0
  return new Map(
    ends.map(([p, end]) => [
      p,
      Math.ceil(numeric && total > 0 ? (sample * Number(end)) / total : sample / ends.length),
    ]),
  )
}

/** Reads every partition of the topic without a consumer group up to its end (or a sample), then stops the reader. */
export async function readAll(options: ReadAllOptions): Promise<void> {
  const { backend, topic } = options
  if (typeof backend.endOffsets !== 'function' || typeof backend.reader !== 'function') {
    throw new ConfigError(
      `The ${backend.name} backend cannot read a topic without a consumer group (it has no endOffsets() and reader()).`,
    )
  }
  const until = options.until ?? new Map((await backend.endOffsets(topic)).map((e) => [e.partition, e.offset]))
  const caps = options.sample === undefined ? undefined : sampleCaps(until, options.sample)
  const read = new Map<number, number>()
  const done = new Set<number>()
  let total = 0
  let settle!: (error?: unknown) => void
  const finished = new Promise<void>(
    (resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error as Error))),
  )
  const finish = (partition: number) => {
    done.add(partition)
    if (done.size === until.size) settle()
  }
  if (until.size === 0) settle()
  const reader = backend.reader({
    topic,
    partitions: [...until.keys()],
    until,
    clientId: 'keyed-cli',
    maxBatchSize: 2000,
    onError: (error) => settle(error ?? new Error('the reader stopped')),
    onBatch: async (batch) => {
      if (done.has(batch.partition)) return
      const cap = caps?.get(batch.partition)
      const seen = read.get(batch.partition) ?? 0
      const end = until.get(batch.partition)!
      // A batch may run past the end captured (records written since); those are not part of this read.
      let records =
        batch.records.length > 0 && !beforeEnd(batch.records[batch.records.length - 1]!.offset, end)
          ? batch.records.filter((r) => beforeEnd(r.offset, end))
          : batch.records
      if (cap !== undefined && seen + records.length > cap) records = records.slice(0, Math.max(0, cap - seen))
      if (records.length > 0) options.onRecords(records, batch.partition)
      read.set(batch.partition, seen + records.length)
      total += records.length
      options.onProgress?.(total)
      if (
        batch.caughtUp ||
        records.length < batch.records.length ||
        (cap !== undefined && seen + records.length >= cap)
      )
        finish(batch.partition)
    },
  })
  await reader.start()
  try {
    await finished
  } finally {
    await reader.close()
  }
}
