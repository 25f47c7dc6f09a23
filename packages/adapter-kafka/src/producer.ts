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
import { type ErrorContext } from './errors.js'
import { sendFailure } from './send-failure.js'
import { refuseOversize, type MessageLimit } from './size-check.js'

const ACKS: Record<Acks, -1 | 0 | 1> = { all: -1, leader: 1, none: 0 }
const MISSING_PARTITION_ATTEMPTS = 5

/**
 * One kafkajs producer. Each send is one sendBatch with every record of the call, so a partition's records form
 * one record batch. An idempotent producer sends one call at a time even if asked for more in flight: kafkajs's
 * idempotent producer loses or reorders records under concurrent sends (kafkajs issues 598 and 1005).
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
    for (let attempt = 1; pending.length > 0; attempt++) {
      for (const m of await this.sendBatch(pending, records.length)) {
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

  private async sendBatch(records: readonly OutgoingRecord[], total: number): Promise<KafkaJsRecordMetadata[]> {
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
    try {
      await this.connect()
      return await this.producer.sendBatch({
        topicMessages,
        acks: ACKS[this.settings.acks],
        compression: COMPRESSION_TYPES[this.settings.compression ?? 'none'],
      })
    } catch (error) {
      throw sendFailure(error, records, this.context, undefined, total)
    }
  }
}
