import type { Consumer as KafkaJsConsumer, EachBatchPayload, IHeaders, KafkaMessage, OffsetsByTopicPartition } from 'kafkajs'
import type { BackendConsumer, CommitOffset, GroupMemberOptions, IncomingRecord } from '@keyed/sdk/backend'
import { FencedError } from '@keyed/sdk/backend'
import { toKeyedError, type ErrorContext } from './errors.js'

export interface KafkaConsumerTuning {
  readonly partitionsConsumedConcurrently: number
  /** How long start() waits for the first join, through kafkajs's own restarts. */
  readonly joinTimeoutMs: number
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

function headersOf(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (!headers) return NO_HEADERS
  let out: Record<string, string> | undefined
  for (const name in headers) {
    const raw = headers[name]
    out ??= {}
    // Kafka allows repeated header names; as a map, the last one wins.
    const value: Buffer | string | null | undefined = Array.isArray(raw) ? raw[raw.length - 1] : raw
    if (value === undefined) continue
    // A null value (a header used as a flag) keeps its name, as '', since a string map has no "no value".
    out[name] = value === null ? '' : typeof value === 'string' ? value : value.toString('utf8')
  }
  return out ?? NO_HEADERS
}

/** The SDK's record of a kafkajs message (also the table reader's). */
export function incoming(topic: string, partition: number, m: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersOf(m.headers),
    timestamp: Number(m.timestamp),
  }
}

/**
 * A kafkajs consumer-group member. kafkajs fetches, the group's assignor spreads partitions, and the broker fences
 * commits by generation; this class cuts kafkajs batches to maxBatchSize, tracks whether a batch is still ours and
 * moves kafkajs's fetch position only past records the SDK was handed while it still owned them.
 */
export class KafkaConsumer implements BackendConsumer {
  /** Bumped whenever the group rebalanced or a commit was fenced: batches of an older epoch are no longer active. */
  private epoch = 0
  private rejoin: unknown
  private closing = false
  private started = false
  private commitDirect: ((offsets: OffsetsByTopicPartition) => Promise<void>) | undefined

  constructor(
    private readonly consumer: KafkaJsConsumer,
    private readonly options: GroupMemberOptions,
    private readonly tuning: KafkaConsumerTuning,
    private readonly context: ErrorContext,
  ) {
    const bump = () => void this.epoch++
    consumer.on(consumer.events.REBALANCING, bump)
    consumer.on(consumer.events.GROUP_JOIN, bump)
  }

  async start(): Promise<void> {
    const { consumer, options } = this
    const action = `join consumer group '${options.groupId}'`
    let removeJoin = () => {}
    let removeCrash = () => {}
    let timer: NodeJS.Timeout | undefined
    const joined = new Promise<void>((resolve, reject) => {
      removeJoin = consumer.on(consumer.events.GROUP_JOIN, () => resolve())
      // A retriable failure (a coordinator still loading after a restart, say) makes kafkajs restart and join again.
      removeCrash = consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) reject(event.payload.error)
      })
      timer = setTimeout(
        () => reject(new Error(`no join within ${this.tuning.joinTimeoutMs} ms (rebalanceTimeoutMs); is the group coordinator up?`)),
        this.tuning.joinTimeoutMs,
      )
    })
    try {
      await consumer.connect()
      for (const s of options.subscriptions) await consumer.subscribe({ topics: [s.topic], fromBeginning: s.fromBeginning })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      })
      await joined
      this.started = true
    } catch (error) {
      await consumer.disconnect().catch(() => undefined)
      throw toKeyedError(error, action, this.context)
    } finally {
      clearTimeout(timer)
      removeJoin()
      removeCrash()
    }
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>()
    for (const o of offsets) {
      let partitions = byTopic.get(o.topic)
      if (!partitions) byTopic.set(o.topic, (partitions = []))
      // Kafka's committed offset is the next one to read.
      partitions.push({ partition: o.partition, offset: (BigInt(o.offset) + 1n).toString() })
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))
    try {
      // The batch's own commit goes straight to the coordinator under this member's generation (no retries, works
      // while closing); consumer.commitOffsets would retry fenced commits and skip them silently once stopping.
      if (this.commitDirect) await this.commitDirect({ topics })
      else await this.consumer.commitOffsets(topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p }))))
    } catch (error) {
      const keyed = toKeyedError(error, `commit offsets of group '${this.options.groupId}'`, this.context)
      if (keyed instanceof FencedError) {
        this.epoch++
        this.rejoin = error
      }
      throw keyed
    }
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    // kafkajs waits for the batches in flight, then leaves the group.
    await this.consumer.disconnect().catch(() => undefined)
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    // Taken from every batch: after a kafkajs restart (crash recovery) only the newest runner's group is current.
    this.commitDirect = (offsets) => payload.commitOffsetsIfNecessary(offsets)
    const { batch } = payload
    const { topic, partition } = batch
    const epoch = this.epoch
    let lost: unknown
    // The SDK asks before every record; kafkajs's staleness lookup is paid once per chunk, the rest is field reads.
    let fresh = true
    const isActive = () => fresh && !this.closing && lost === undefined && this.epoch === epoch
    const heartbeat = async () => {
      try {
        await payload.heartbeat()
      } catch (error) {
        const keyed = toKeyedError(error, `keep group '${this.options.groupId}' membership alive`, this.context)
        if (keyed instanceof FencedError) lost = error
        throw keyed
      }
    }
    const size = this.options.maxBatchSize
    const messages = batch.messages
    for (let i = 0; i < messages.length && (fresh = payload.isRunning() && !payload.isStale()) && isActive(); i += size) {
      const chunk = messages.slice(i, i + size)
      await this.options.onBatch({ topic, partition, records: chunk.map((m) => incoming(topic, partition, m)), isActive, heartbeat })
      if (!isActive()) break
      payload.resolveOffset(chunk[chunk.length - 1]!.offset)
      if (i + size < messages.length) await heartbeat().catch(() => undefined)
    }
    // Rethrowing a rebalance error makes kafkajs rejoin now instead of at its next heartbeat.
    const reason = lost ?? (this.epoch !== epoch ? this.rejoin : undefined)
    if (reason !== undefined && this.started && !this.closing) {
      this.rejoin = undefined
      throw reason
    }
  }
}
