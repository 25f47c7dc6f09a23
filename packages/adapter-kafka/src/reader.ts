import { randomUUID } from 'node:crypto'
import kafkajs, {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaConfig,
  type PartitionAssigner,
} from 'kafkajs'
import type { BackendReader, PartitionEnd, PartitionReaderOptions } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import { incoming } from './consumer.js'
import { LEAVE_TIMEOUT_MS, within } from './bounded.js'
import { toKeyedError, type ErrorContext } from './errors.js'

const { AssignerProtocol } = kafkajs

/** Each partition's high watermark: the offset the next record will get (what a read_committed reader can reach). */
export async function endOffsets(admin: Admin, topic: string, context: ErrorContext): Promise<PartitionEnd[]> {
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, offset: o.high }))
  } catch (error) {
    throw toKeyedError(error, `fetch the end offsets of '${topic}'`, context)
  }
}

export interface KafkaReaderSettings {
  readonly admin: () => Promise<Admin>
  readonly retry: NonNullable<KafkaConfig['retry']>
  readonly maxWaitTimeMs: number
  /** How long start() waits for the throwaway group's first join. */
  readonly joinTimeoutMs: number
}

const ASSIGNER = 'KeyedReaderAssigner'

/** Gives the reader's one member exactly the partitions asked for, whatever the topic has. */
function onlyThese(topic: string, partitions: readonly number[]): PartitionAssigner {
  return () => ({
    name: ASSIGNER,
    version: 0,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: i === 0 ? { [topic]: [...partitions] } : {},
          userData: Buffer.alloc(0),
        }),
      }))
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      }
    },
  })
}

/**
 * Reads partitions from the beginning with no group of the application's. kafkajs cannot assign partitions by hand,
 * so the reader joins a throwaway group of its own (a random id), whose assignor hands its one member exactly the
 * partitions asked for, and never commits: the broker keeps no offsets for it and drops the group when it leaves.
 * Positions are kept here, so a rejoin (a session lost during a long pause) seeks back to them instead of starting over.
 */
export class KafkaReader implements BackendReader {
  private readonly consumer: Consumer
  private readonly groupId: string
  /** Per partition, the next offset to hand out. */
  private readonly positions = new Map<number, bigint>()
  private readonly until = new Map<number, bigint>()
  private readonly caughtUp = new Set<number>()
  /** Per partition, the empty batch of a caught-up signal that did not come through eachBatch, chained before the next. */
  private readonly pending = new Map<number, Promise<void>>()
  private stopping = false
  private joined = false
  private closed = false

  constructor(
    kafka: Kafka,
    private readonly options: PartitionReaderOptions,
    private readonly settings: KafkaReaderSettings,
    private readonly context: ErrorContext,
  ) {
    this.groupId = `keyed-reader-${options.topic}-${randomUUID()}`
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [onlyThese(options.topic, options.partitions)],
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: settings.retry,
    })
    for (const p of options.partitions) {
      this.positions.set(p, 0n)
      this.until.set(p, BigInt(options.until.get(p) ?? '0'))
    }
  }

  async start(): Promise<void> {
    const { consumer, options } = this
    const action = `read '${options.topic}' from the beginning`
    let timer: NodeJS.Timeout | undefined
    const removers: Array<() => void> = []
    try {
      const admin = await this.settings.admin()
      const offsets = await admin.fetchTopicOffsets(options.topic)
      for (const p of options.partitions) {
        const o = offsets.find((x) => x.partition === p)
        if (!o) throw new ConfigError(`Topic '${options.topic}' has no partition ${p}.`)
        // Nothing left before the end (empty, or removed by retention): caught up before the first fetch.
        if (BigInt(o.low) >= this.until.get(p)!) await this.signal(p)
      }
      const joined = new Promise<void>((resolve, reject) => {
        removers.push(consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
        removers.push(
          consumer.on(consumer.events.CRASH, (event) => !event.payload.restart && reject(event.payload.error)),
        )
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `no join within ${this.settings.joinTimeoutMs} ms (rebalanceTimeoutMs); is the group coordinator up?`,
              ),
            ),
          this.settings.joinTimeoutMs,
        )
      })
      this.watch()
      await consumer.connect()
      await consumer.subscribe({ topics: [options.topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions.length, 4)),
        eachBatch: (payload) => this.eachBatch(payload),
      })
      await joined
    } catch (error) {
      this.stopping = true
      await consumer.disconnect().catch(() => undefined)
      throw toKeyedError(error, action, this.context)
    } finally {
      clearTimeout(timer)
      for (const remove of removers) remove()
    }
  }

  /** Leaves the throwaway group; kafkajs first waits for the batch in flight. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.stopping = true
    // Bounded: a broker that accepts connections but never answers would hold kafkajs's leave for a minute.
    await within(
      this.consumer.disconnect().catch(() => undefined),
      LEAVE_TIMEOUT_MS,
    )
  }

  private watch(): void {
    const { consumer } = this
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // A rejoin starts kafkajs over from the (absent) committed offsets: continue from this reader's own positions.
      if (this.joined)
        for (const [partition, offset] of this.positions)
          consumer.seek({ topic: this.options.topic, partition, offset: offset.toString() })
      this.joined = true
    })
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.joined && !event.payload.restart && !this.stopping) {
        this.stopping = true
        this.options.onError(toKeyedError(event.payload.error, `keep reading '${this.options.topic}'`, this.context))
      }
    })
    // A fetch whose records kafkajs filters out entirely (transaction markers, aborted records) never reaches
    // eachBatch, yet it moves the position; at the end of a partition it is what reaches the end offset.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { partition, batchSize, lastOffset } = event.payload
      if (batchSize !== 0 || this.caughtUp.has(partition) || !this.positions.has(partition)) return
      const next = BigInt(lastOffset) + 1n
      if (next > this.positions.get(partition)!) this.positions.set(partition, next)
      if (next >= this.until.get(partition)!) void this.signal(partition)
    })
  }

  /** Hands the partition's caught-up signal over as an empty batch, after whatever batch of it is in flight. */
  private signal(partition: number): Promise<void> {
    this.caughtUp.add(partition)
    const previous = this.pending.get(partition) ?? Promise.resolve()
    const next = previous.then(() =>
      this.options.onBatch({ topic: this.options.topic, partition, records: [], caughtUp: true }),
    )
    this.pending.set(
      partition,
      next.catch(() => undefined),
    )
    return next
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    const { topic, partition } = batch
    const position = this.positions.get(partition)
    if (position === undefined) return
    await this.pending.get(partition)
    const size = this.options.maxBatchSize
    // A rejoin may have refetched records already handed out; only later ones go on.
    const messages =
      BigInt(batch.messages[0]?.offset ?? '0') < position
        ? batch.messages.filter((m) => BigInt(m.offset) >= position)
        : batch.messages
    // The batch may end in records kafkajs filters out (a transaction marker after the last record): its last
    // offset, not its last message's, is where the position goes once every message was handed out.
    const batchEnd = batch.lastOffset()
    for (let i = 0; i < messages.length; i += size) {
      if (this.stopping || !payload.isRunning() || payload.isStale()) return
      const chunk = messages.slice(i, i + size)
      const lastOffset = i + size >= messages.length ? batchEnd : chunk[chunk.length - 1]!.offset
      const next = BigInt(lastOffset) + 1n
      if (next >= this.until.get(partition)!) this.caughtUp.add(partition)
      await this.options.onBatch({
        topic,
        partition,
        records: chunk.map((m) => incoming(topic, partition, m)),
        caughtUp: this.caughtUp.has(partition),
      })
      this.positions.set(partition, next)
      payload.resolveOffset(lastOffset)
      await payload.heartbeat().catch(() => undefined)
    }
    if (messages.length === 0 && BigInt(batchEnd) + 1n > position) {
      this.positions.set(partition, BigInt(batchEnd) + 1n)
      payload.resolveOffset(batchEnd)
      if (!this.caughtUp.has(partition) && BigInt(batchEnd) + 1n >= this.until.get(partition)!)
        await this.signal(partition)
    }
  }
}
