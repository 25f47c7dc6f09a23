import type { Producer as KafkaJsProducer, Message, RecordMetadata as KafkaJsRecordMetadata, TopicMessages } from 'kafkajs'
import type { Acks, BackendProducer, OutgoingRecord, ProducerSettings, RecordMetadata } from '@keyed/sdk/backend'
import { ClosedError } from '@keyed/sdk'
import { toKeyedError, type ErrorContext } from './errors.js'

const ACKS: Record<Acks, -1 | 0 | 1> = { all: -1, leader: 1, none: 0 }

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

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
    await this.tail
    if (this.connected) await this.producer.disconnect().catch(() => undefined)
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
    let answer: KafkaJsRecordMetadata[]
    try {
      await this.connect()
      answer = await this.producer.sendBatch({ topicMessages, acks: ACKS[this.settings.acks] })
    } catch (error) {
      throw toKeyedError(error, `send ${records.length} record(s) to '${[...byTopic.keys()].join("', '")}'`, this.context)
    }
    // kafkajs answers per partition with the base offset; records of a partition were appended in call order.
    const base = new Map<string, bigint>()
    for (const m of answer) {
      if (m.baseOffset !== undefined) base.set(`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset))
    }
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
}
