import type { Acks, BackendProducer, OutgoingRecord, ProducerSettings, RecordMetadata } from '@keyed/sdk/backend'
import { BackendUnavailableError, ClosedError } from '@keyed/sdk/backend'
import type { Producer, ProducerOptions } from '@platformatic/kafka'
import { LEAVE_TIMEOUT_MS, within } from '../bounded.js'
import type { ErrorContext } from '../errors.js'
import { sendFailure } from '../send-failure.js'
import { refuseOversize, type MessageLimit } from '../size-check.js'
import { platformaticChain } from './errors.js'
import { platformatic } from './lib.js'

const ACKS: Record<Acks, -1 | 0 | 1> = { all: -1, leader: 1, none: 0 }
const utf8 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'utf8'))

/**
 * One @platformatic/kafka producer. Each send is one Producer.send with every record of the call at its explicit
 * partition (the SDK's murmur2 choice; the client's own partitioner is never asked), so a partition's records form one
 * record batch. An idempotent producer sends one call at a time, as the SDK's strict ordering needs.
 */
export class PlatformaticProducer implements BackendProducer {
  private producer: Promise<Producer> | undefined
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(
    private readonly base: ProducerOptions<Buffer, Buffer, string, string>,
    private readonly settings: ProducerSettings,
    private readonly context: ErrorContext,
    private readonly messageLimit: MessageLimit,
    private readonly closeTimeoutMs: number,
  ) {}

  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClosedError('producer'))
    if (!this.settings.idempotent && this.settings.maxInFlight > 1) return this.sendNow(records)
    const run = this.tail.then(() => this.sendNow(records))
    this.tail = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await within(this.tail, this.closeTimeoutMs)
    const producer = this.producer
    if (producer)
      await within(
        producer.then((p) => p.close(true)).catch(() => undefined),
        LEAVE_TIMEOUT_MS,
      )
  }

  private client(): Promise<Producer> {
    this.producer ??= platformatic().then(
      (lib) =>
        new lib.Producer({
          ...this.base,
          idempotent: this.settings.idempotent,
          acks: ACKS[this.settings.acks],
          // The client makes an idempotent producer's retries endless when given 1 or fewer; keyed's sends stay bounded.
          retries: Math.max(2, this.settings.retries),
          maxInflights: this.settings.maxInFlight,
          ...(this.settings.compression &&
            this.settings.compression !== 'none' && { compression: this.settings.compression }),
          serializers: { headerKey: utf8, headerValue: utf8 },
        }) as unknown as Producer,
    )
    return this.producer
  }

  private async sendNow(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return []
    await refuseOversize(records, this.settings.compression, this.messageLimit)
    const messages = records.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      key: r.key === null ? undefined : Buffer.from(r.key.buffer, r.key.byteOffset, r.key.byteLength),
      value: r.value === null ? undefined : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
      headers: r.headers,
      timestamp: BigInt(r.timestamp),
    }))
    let result
    try {
      const producer = await this.client()
      result = await (producer as unknown as Producer<Buffer, Buffer, string, string>).send({ messages })
    } catch (error) {
      throw sendFailure(error, records, this.context, platformaticChain)
    }
    const base = new Map<string, bigint>()
    for (const o of result.offsets ?? []) base.set(`${o.topic}\u0000${o.partition}`, o.offset)
    const next = new Map<string, bigint>()
    return records.map((r) => {
      const tp = `${r.topic}\u0000${r.partition}`
      const start = base.get(tp)
      if (start === undefined) {
        if (this.settings.acks === 'none')
          return { topic: r.topic, partition: r.partition, offset: '-1', timestamp: r.timestamp }
        throw new BackendUnavailableError(
          'kafka',
          `the broker did not acknowledge the records for ${r.topic}[${r.partition}]. They may or may not be in the log: send them again.`,
        )
      }
      const i = next.get(tp) ?? 0n
      next.set(tp, i + 1n)
      return { topic: r.topic, partition: r.partition, offset: (start + i).toString(), timestamp: r.timestamp }
    })
  }
}
