import type {
  Producer as KafkaJsProducer,
  Message,
  RecordMetadata as KafkaJsRecordMetadata,
  TopicMessages,
} from 'kafkajs'
import type { Acks, BackendProducer, OutgoingRecord, ProducerSettings, RecordMetadata } from '@keyed/sdk/backend'
import { BackendUnavailableError, ClosedError, toBuffer } from '@keyed/sdk/backend'
import { DEFAULT_CLOSE_TIMEOUT_MS, LEAVE_TIMEOUT_MS, within } from './bounded.js'
import { COMPRESSION_TYPES } from './codecs.js'
import { chain, type ErrorContext } from './errors.js'
import { sendFailure } from './send-failure.js'
import { refuseOversize, type MessageLimit } from './size-check.js'
import type { SoleBroker } from './sole-broker.js'

const ACKS: Record<Acks, -1 | 0 | 1> = { all: -1, leader: 1, none: 0 }
const MISSING_PARTITION_ATTEMPTS = 5

/**
 * One kafkajs producer. A partition's records of a call form one record batch. An idempotent producer sends one call
 * at a time even if asked for more in flight: kafkajs's idempotent producer loses or reorders records under concurrent
 * sends to a partition (kafkajs issues 598 and 1005).
 *
 * An idempotent producer also sends each partition of a call in a sendBatch of its own (all at once; kafkajs queues
 * those for one broker behind each other). kafkajs (2.2.4, src/producer/sendMessages.js) sends a call's requests to
 * their leaders together and retries the call as soon as one request fails, while the others are still in flight; a
 * broker still in flight gets its partitions again in the retry, queued behind the first request, and once that one
 * succeeds they leave with the sequence numbers after it: the broker appends them a second time (a leader killed fails
 * its request at once while another leader, waiting for the dead follower to leave the ISR, answers seconds later).
 * With one partition per sendBatch, each kafkajs attempt is one request, settled before the next: a retry carries the
 * sequence of the failed request, and the broker deduplicates it. On a cluster that has only ever had one broker
 * (SoleBroker), every attempt is one request anyway, and a call's partitions go in one sendBatch.
 */
export class KafkaProducer implements BackendProducer {
  private connected: Promise<void> | undefined
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(
    private readonly producer: KafkaJsProducer,
    private readonly settings: ProducerSettings,
    private readonly context: ErrorContext,
    private readonly messageLimit: MessageLimit,
    private readonly closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS,
    /** Without it, an idempotent producer always sends one partition per sendBatch. */
    private readonly soleBroker?: SoleBroker,
  ) {}

  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClosedError('producer'))
    if (!this.settings.idempotent) return this.sendNow(records)
    const run = this.tail.then(() => this.sendNow(records))
    this.tail = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Sends in flight get closeTimeoutMs (each is bounded by kafkajs's retries, which can take minutes without a broker).
    await within(this.tail, this.closeTimeoutMs)
    if (this.connected)
      await within(
        this.producer.disconnect().catch(() => undefined),
        LEAVE_TIMEOUT_MS,
      )
  }

  private connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.producer.connect()
      // A failed connection is not remembered: the next send tries again.
      this.connected.catch(() => (this.connected = undefined))
    }
    return this.connected
  }

  private async sendNow(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return []
    await refuseOversize(records, this.settings.compression, this.messageLimit)
    const base = new Map<string, bigint>()
    let pending = records
    // kafkajs never asks a broker twice within one sendBatch: when a partition's new leader already answered for
    // another partition, that partition is silently left out of the answer (kafkajs issue 1303). Its records were
    // not appended, so they are sent again, still before any later call; a partition left out every time fails the send.
    // (An idempotent producer's partitions each have a sendBatch of their own, which cannot lose its one partition so;
    // there a partition is left out only when its request never left, see sendPartitions.)
    for (let attempt = 1; pending.length > 0; attempt++) {
      for (const m of await this.sendPartitions(pending, records.length)) {
        if (m.baseOffset !== undefined) base.set(`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset))
      }
      if (this.settings.acks === 'none') break
      pending = pending.filter((r) => !base.has(`${r.topic}\u0000${r.partition}`))
      if (pending.length > 0 && attempt >= MISSING_PARTITION_ATTEMPTS) {
        const lost = [...new Set(pending.map((r) => `${r.topic}[${r.partition}]`))].join(', ')
        throw new BackendUnavailableError(
          'kafka',
          `the broker did not acknowledge ${pending.length} record(s) for ${lost} after ${attempt} attempts (leadership moving?). ` +
            'They may or may not be in the log: send them again.',
        )
      }
    }
    // Records of a partition were appended in call order from its base offset.
    const next = new Map<string, bigint>()
    return records.map((r) => {
      const tp = `${r.topic}\u0000${r.partition}`
      const start = base.get(tp)
      let offset = '-1'
      if (start !== undefined) {
        const i = next.get(tp) ?? 0n
        next.set(tp, i + 1n)
        offset = (start + i).toString()
      }
      return { topic: r.topic, partition: r.partition, offset, timestamp: r.timestamp }
    })
  }

  /**
   * The records in one sendBatch, or an idempotent producer's in one per partition (see the class). A partition whose
   * request never left, as kafkajs gave up waiting for its broker behind other partitions' requests (KafkaJSLockTimeout,
   * after 65 s: a broker that answers nothing, each request to it running into its request timeout), is left out of the
   * answer, to be sent again. That is safe: kafkajs gives a partition its sequence numbers only once it holds the
   * broker, and takes them back when a request fails, so the partition goes again with the sequence of its last failed
   * request, if any, which the broker deduplicates.
   */
  private async sendPartitions(records: readonly OutgoingRecord[], total: number): Promise<KafkaJsRecordMetadata[]> {
    if (!this.settings.idempotent) return this.sendBatch(records, total)
    if (this.soleBroker?.now())
      return this.sendBatch(records, total).catch((error: unknown) => {
        this.soleBroker!.distrust() // a failure may be the cluster changing: look again before trusting it
        throw error
      })
    const byPartition = new Map<string, OutgoingRecord[]>()
    for (const r of records) {
      const tp = `${r.topic}\u0000${r.partition}`
      let batch = byPartition.get(tp)
      if (!batch) byPartition.set(tp, (batch = []))
      batch.push(r)
    }
    if (byPartition.size === 1) return this.sendBatch(records, total)
    // Every partition settles before the call does: the next call must not overtake a partition still in flight.
    const settled = await Promise.allSettled([...byPartition.values()].map((batch) => this.produce(batch)))
    const failure = settled.find(
      (s): s is PromiseRejectedResult =>
        s.status === 'rejected' && !chain(s.reason).some((e) => e.name === 'KafkaJSLockTimeout'),
    )
    if (failure) throw sendFailure(failure.reason, records, this.context, undefined, total)
    return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []))
  }

  private async sendBatch(records: readonly OutgoingRecord[], total: number): Promise<KafkaJsRecordMetadata[]> {
    try {
      return await this.produce(records)
    } catch (error) {
      throw sendFailure(error, records, this.context, undefined, total)
    }
  }

  private async produce(records: readonly OutgoingRecord[]): Promise<KafkaJsRecordMetadata[]> {
    const byTopic = new Map<string, Message[]>()
    for (const r of records) {
      let messages = byTopic.get(r.topic)
      if (!messages) byTopic.set(r.topic, (messages = []))
      messages.push({
        key: r.key === null ? null : toBuffer(r.key),
        value: r.value === null ? null : toBuffer(r.value),
        partition: r.partition,
        headers: r.headers as Record<string, string>,
        timestamp: String(r.timestamp),
      })
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }))
    await this.connect()
    return await this.producer.sendBatch({
      topicMessages,
      acks: ACKS[this.settings.acks],
      compression: COMPRESSION_TYPES[this.settings.compression ?? 'none'],
    })
  }
}
