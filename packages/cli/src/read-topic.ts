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
 * Per-partition caps of a sample, in proportion to each partition's records. Their counts come from the backend's
 * committedOffsets() for a group that has no position (the lag of such a group is the records there: Kafka's end
 * minus start offset, Redis's XLEN, memory's end minus log start); without committedOffsets(), from the ends when
 * they are offsets, else equal shares (Redis ids say nothing about size).
 */
async function sampleCaps(
  backend: Backend,
  topic: string,
  until: ReadonlyMap<number, string>,
  sample: number,
): Promise<Map<number, number>> {
  let sizes: Map<number, number> | undefined
  if (typeof backend.committedOffsets === 'function') {
    const group = `keyed-cli.sample-sizes.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`
    const rows = await backend.committedOffsets(group, [topic])
    if (rows.every((r) => r.committed === undefined)) sizes = new Map(rows.map((r) => [r.partition, r.lag]))
  }
  if (!sizes && [...until.values()].every((end) => /^\d+$/.test(end)))
    sizes = new Map([...until].map(([p, end]) => [p, Number(end)]))
  const total = sizes ? [...until.keys()].reduce((sum, p) => sum + (sizes.get(p) ?? 0), 0) : 0
  return new Map(
    [...until.keys()].map((p) => [
      p,
      Math.ceil(sizes && total > 0 ? (sample * (sizes.get(p) ?? 0)) / total : sample / until.size),
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
  const caps = options.sample === undefined ? undefined : await sampleCaps(backend, topic, until, options.sample)
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
