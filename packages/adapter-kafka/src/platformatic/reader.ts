import { randomUUID } from 'node:crypto'
import type { BackendReader, IncomingRecord, PartitionReaderOptions } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import type { Consumer, ConsumerOptions } from '@platformatic/kafka'
import { LEAVE_TIMEOUT_MS, within } from '../bounded.js'
import { toKeyedError, type ErrorContext } from '../errors.js'
import { platformaticChain } from './errors.js'
import { FetchLoop, type Position } from './fetch-loop.js'
import { platformatic } from './lib.js'

/**
 * Reads partitions from their first offset with no consumer group at all: @platformatic/kafka fetches by partition
 * (what kafkajs cannot, so its reader needs a throwaway group). The consumer here never joins; its group id is only
 * the client's required option. Positions are this reader's; nothing is committed.
 */
export class PlatformaticReader implements BackendReader {
  private consumer: Consumer | undefined
  private loop: FetchLoop | undefined
  private readonly positions = new Map<number, Position>()
  private readonly until = new Map<number, bigint>()
  private readonly caughtUp = new Set<number>()
  private stopping = false
  private closed: Promise<void> | undefined

  constructor(
    private readonly options: PartitionReaderOptions,
    private readonly base: Omit<ConsumerOptions<Buffer, Buffer, Buffer, Buffer>, 'groupId'>,
    private readonly maxWaitTimeMs: number,
    private readonly context: ErrorContext,
  ) {
    for (const p of options.partitions) this.until.set(p, BigInt(options.until.get(p) ?? '0'))
  }

  async start(): Promise<void> {
    const { options } = this
    try {
      const lib = await platformatic()
      const consumer = new lib.Consumer({
        ...this.base,
        groupId: `keyed-reader-${options.topic}-${randomUUID()}`,
        autocommit: false,
        isolationLevel: lib.FetchIsolationLevels.READ_COMMITTED,
      })
      this.consumer = consumer
      consumer.topics.track(options.topic)
      const metadata = await consumer.metadata({ topics: [options.topic] })
      const count = metadata.topics.get(options.topic)?.partitionsCount ?? 0
      for (const p of options.partitions)
        if (p >= count) throw new ConfigError(`Topic '${options.topic}' has no partition ${p}.`)
      const first = await consumer.listOffsets({
        topics: [options.topic],
        partitions: { [options.topic]: [...options.partitions] },
        timestamp: lib.ListOffsetTimestamps.EARLIEST,
      })
      for (const p of options.partitions) {
        const low = first.get(options.topic)?.[p] ?? 0n
        // Nothing left before the end (empty, or removed by retention): caught up before the first fetch.
        if (low >= this.until.get(p)!) await this.signal(p)
        this.positions.set(p, { topic: options.topic, partition: p, next: low, busy: false })
      }
      this.loop = new FetchLoop(
        consumer,
        new lib.ConnectionPool(consumer.clientId, { ...consumer[lib.kOptions] }),
        () => this.positions.values(),
        (position, records, next) => this.deliver(position, records, next),
        { maxWaitTimeMs: this.maxWaitTimeMs, partitionMaxBytes: 1024 * 1024, resetTo: () => 'earliest' },
        (error) => {
          if (this.stopping) return
          this.stopping = true
          this.options.onError(this.error(error, `keep reading '${options.topic}'`))
          void this.loop?.stop()
        },
      )
      this.loop.start()
    } catch (error) {
      this.stopping = true
      await this.close()
      throw this.error(error, `read '${options.topic}' from the beginning`)
    }
  }

  private error(error: unknown, action: string) {
    return toKeyedError(error, action, this.context, platformaticChain)
  }

  private signal(partition: number): Promise<void> {
    this.caughtUp.add(partition)
    return this.options.onBatch({ topic: this.options.topic, partition, records: [], caughtUp: true })
  }

  private async deliver(position: Position, records: IncomingRecord[], next: bigint): Promise<void> {
    const { partition } = position
    const until = this.until.get(partition)!
    const size = this.options.maxBatchSize
    for (let i = 0; i < records.length; i += size) {
      if (this.stopping) return
      const last = i + size >= records.length
      const chunk = records.length <= size ? records : records.slice(i, i + size)
      const after = last ? next : BigInt(chunk[chunk.length - 1]!.offset) + 1n
      if (after >= until) this.caughtUp.add(partition)
      await this.options.onBatch({
        topic: this.options.topic,
        partition,
        records: chunk,
        caughtUp: this.caughtUp.has(partition),
      })
      position.next = after
    }
    // A batch of nothing but transaction markers still moves the position, and may be what reaches the end.
    if (records.length === 0) {
      position.next = next
      if (!this.caughtUp.has(partition) && next >= until) await this.signal(partition)
    }
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true
      await within(this.loop?.stop() ?? Promise.resolve(), LEAVE_TIMEOUT_MS)
      await within(this.consumer?.close(true).catch(() => undefined) ?? Promise.resolve(), LEAVE_TIMEOUT_MS)
    })()
    return this.closed
  }
}
