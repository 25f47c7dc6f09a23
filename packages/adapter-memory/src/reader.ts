import type { BackendReader, PartitionEnd, PartitionReaderOptions } from '@keyed/sdk/backend'
import { ConfigError, TopicNotFoundError } from '@keyed/sdk/backend'
import type { MemoryBroker } from './broker.js'
import type { PartitionLog } from './log.js'

/** Each partition's log end offset: the offset the next record will get. */
export function endOffsets(broker: MemoryBroker, topic: string): PartitionEnd[] {
  const logs = broker.partitionsOf(topic)
  if (logs.length === 0) throw new TopicNotFoundError(topic)
  return logs.map((log) => ({ partition: log.partition, offset: String(log.logEndOffset) }))
}

/** Reads partitions of the broker's logs from their oldest surviving record, with no group and no commits. */
export class MemoryReader implements BackendReader {
  private active = false
  private loops: Promise<void>[] = []
  private readonly cancels = new Set<() => void>()

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: PartitionReaderOptions,
  ) {}

  async start(): Promise<void> {
    const { topic, partitions, until } = this.options
    const logs = this.broker.partitionsOf(topic)
    if (logs.length === 0) throw new TopicNotFoundError(topic)
    for (const p of partitions) if (!logs[p]) throw new ConfigError(`Topic '${topic}' has no partition ${p}.`)
    this.active = true
    this.loops = partitions.map((p) =>
      this.follow(logs[p]!, Number(until.get(p) ?? 0)).catch((error: unknown) => {
        if (!this.active) return
        this.active = false
        this.options.onError(error)
      }),
    )
  }

  async close(): Promise<void> {
    this.active = false
    for (const cancel of this.cancels) cancel()
    await Promise.all(this.loops)
  }

  private async follow(log: PartitionLog, until: number): Promise<void> {
    const { topic, maxBatchSize } = this.options
    let position = 0
    let caughtUp = false
    while (this.active) {
      // Retention or compaction may have removed the position; continue at the oldest surviving record.
      position = Math.max(position, log.logStartOffset)
      const records = log.read(position, maxBatchSize)
      // Nothing at or after the position: whatever lay before the log end was read or removed.
      position =
        records.length > 0 ? Number(records[records.length - 1]!.offset) + 1 : Math.max(position, log.logEndOffset)
      const reached = position >= until
      if (records.length > 0 || (reached && !caughtUp)) {
        caughtUp ||= reached
        await this.options.onBatch({ topic, partition: log.partition, records, caughtUp })
        // Let producers and other partitions run between batches.
        await new Promise<void>((resolve) => setImmediate(resolve))
        continue
      }
      // No await between the read above and this registration, so no append can slip between them.
      const wait = log.waitForAppend()
      this.cancels.add(wait.cancel)
      if (this.active) await wait.promise
      this.cancels.delete(wait.cancel)
    }
  }
}
