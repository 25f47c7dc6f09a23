import type { Backend, BackendProducer, IncomingRecord } from '../backend/contract.js'
import { partitionFor } from '../murmur2.js'
import { defineTopic, type AnyTopic } from '../topic.js'
import type { TopicResolver } from '../topic-resolver.js'
import type { Stage } from './decode.js'
import type { DeadLetterOptions } from './types.js'

/** Headers a dead-lettered record carries, besides its own. */
export const DEAD_LETTER_HEADERS = {
  error: 'keyed-dlq-error',
  stage: 'keyed-dlq-stage',
  topic: 'keyed-dlq-topic',
  partition: 'keyed-dlq-partition',
  offset: 'keyed-dlq-offset',
  attempts: 'keyed-dlq-attempts',
  groupId: 'keyed-dlq-group',
  /** 'true' on the dead letter of a record whose value was null: its value is empty, so dead-letter topics (never compacted) hold no null value. */
  nullValue: 'keyed-dlq-null-value',
} as const

const EMPTY = new Uint8Array(0)

/** Writes records that failed to their dead-letter topic, with the same key and bytes and headers saying why. */
export class DeadLetters {
  private producer: BackendProducer | undefined

  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    private readonly option: DeadLetterOptions,
    private readonly groupId: string,
    private readonly clientId: string | undefined,
  ) {}

  topicFor(source: string): string {
    return typeof this.option.topic === 'function' ? this.option.topic(source) : (this.option.topic ?? `${source}.dlq`)
  }

  async write(source: AnyTopic, record: IncomingRecord, stage: Stage, cause: unknown, attempts: number): Promise<void> {
    const name = this.topicFor(record.topic)
    // Declared like any topic, so a bad dead-letter name fails with defineTopic's explanation. A source that allows
    // larger records than the backend's default gets a dead-letter topic that does too, or its large failures could
    // not be written there.
    const maxBytes = source.config['max.message.bytes']
    const { partitions } = await this.topics.resolve(
      defineTopic(name, {
        partitions: source.partitions,
        ordering: 'none',
        ...(maxBytes !== undefined && { config: { 'max.message.bytes': maxBytes } }),
      }),
      true,
    )
    this.producer ??= this.backend.producer({
      idempotent: true,
      acks: 'all',
      maxInFlight: 1,
      retries: 5,
      clientId: this.clientId,
    })
    await this.producer.send([
      {
        topic: name,
        // Same key, same hash: a dead-letter topic keeps the source's per-key grouping.
        partition: record.key === null ? record.partition % partitions : partitionFor(record.key, partitions),
        key: record.key,
        value: record.value ?? EMPTY,
        headers: {
          ...record.headers,
          ...(record.value === null ? { [DEAD_LETTER_HEADERS.nullValue]: 'true' } : {}),
          [DEAD_LETTER_HEADERS.error]: errorText(cause),
          [DEAD_LETTER_HEADERS.stage]: stage,
          [DEAD_LETTER_HEADERS.topic]: record.topic,
          [DEAD_LETTER_HEADERS.partition]: String(record.partition),
          [DEAD_LETTER_HEADERS.offset]: record.offset,
          [DEAD_LETTER_HEADERS.attempts]: String(attempts),
          [DEAD_LETTER_HEADERS.groupId]: this.groupId,
        },
        // A record whose timestamp did not decode still needs one the backend accepts.
        timestamp: Number.isFinite(record.timestamp) ? record.timestamp : Date.now(),
      },
    ])
  }

  async close(): Promise<void> {
    const producer = this.producer
    this.producer = undefined
    await producer?.close()
  }
}

/** Longest error text a dead letter carries: a handler's error may hold a whole HTTP body, over the record size limit. */
const MAX_ERROR_HEADER_CHARS = 1000

/** The failure's message, cut to MAX_ERROR_HEADER_CHARS with the length of what was left out. */
function errorText(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause)
  if (text.length <= MAX_ERROR_HEADER_CHARS) return text
  return `${text.slice(0, MAX_ERROR_HEADER_CHARS)}… (${text.length - MAX_ERROR_HEADER_CHARS} more characters)`
}
