import type { Acks, Backend, Compression, BackendProducer, OutgoingRecord, ProducerSettings, RecordMetadata } from './backend/contract.js'
import { ClosedError, ConfigError, MissingKeyError, PartitionerError, ReorderingProducerError, SchemaError, SerdeError, type SchemaField } from './errors.js'
import { checkPartition, NullKeyPlacer, type NullKeyStrategy, type Partitioner } from './partitioners.js'
import { partitionFor } from './murmur2.js'
import { integerOption } from './options.js'
import { validate, type ValidationOutcome } from './schema.js'
import { describe } from './serdes.js'
import {
  checkTopic,
  isCompacted,
  isTopic,
  keyRequirement,
  type AnyTopic,
  type Compacted,
  type CompactedTopic,
  type HeadersInputOf,
  type KeyInputOf,
  type KeyRequired,
  type ValueInputOf,
} from './topic.js'
import type { TopicResolver } from './topic-resolver.js'

export type { RecordMetadata }

type KeyField<T extends AnyTopic> = KeyRequired<T> extends true ? { key: KeyInputOf<T> } : { key?: KeyInputOf<T> | null }
type ValueField<T extends AnyTopic> = Compacted<T> extends true ? { value: ValueInputOf<T> | null } : { value: ValueInputOf<T> }

/** A record for `send`: the key is required on ordered and compacted topics, and null values exist only on compacted ones. */
export type SendRecord<T extends AnyTopic> = KeyField<T> &
  ValueField<T> & {
    headers?: HeadersInputOf<T>
    /** Bypasses the partitioner. */
    partition?: number
    /** Milliseconds since the epoch; now when omitted. */
    timestamp?: number
  }

export interface ProducerOptions {
  /** 'strict': idempotent, acks from all in-sync replicas, one request in flight. Conflicting settings are refused. */
  ordering?: 'strict'
  idempotent?: boolean
  acks?: Acks
  maxInFlight?: number
  retries?: number
  /** Replaces murmur2 for every record that does not name its partition. */
  partitioner?: Partitioner
  /** Where keyless records go: 'sticky' (one partition per batch, the default) or 'round-robin'. */
  nullKeyStrategy?: NullKeyStrategy
  /** Record batch compression on Kafka ('none' by default); memory and Redis ignore it. */
  compression?: Compression
}

const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

const DEFAULT_RETRIES = 5
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export function resolveProducerSettings(options: ProducerOptions, clientId: string | undefined): ProducerSettings {
  if (options.ordering !== undefined && options.ordering !== 'strict') {
    throw new ConfigError(`Producer ordering must be 'strict' or omitted, got '${String(options.ordering)}'.`)
  }
  if (options.ordering === 'strict') {
    const conflicts = [
      options.idempotent === false && 'idempotent: false',
      options.acks !== undefined && options.acks !== 'all' && `acks: '${options.acks}'`,
      options.maxInFlight !== undefined && options.maxInFlight !== 1 && `maxInFlight: ${options.maxInFlight}`,
      options.retries === 0 && 'retries: 0',
    ].filter(Boolean)
    if (conflicts.length) {
      throw new ConfigError(
        `Producer ordering: 'strict' means idempotent, acks 'all' and maxInFlight 1, but ${conflicts.join(', ')} was also given. Drop one of them.`,
      )
    }
  }
  // Safe by default: the same settings as 'strict'; throughput is an explicit choice.
  const idempotent = options.idempotent ?? true
  const acks = options.acks ?? 'all'
  const maxInFlight = options.maxInFlight ?? 1
  const retries = options.retries ?? DEFAULT_RETRIES
  if (!['all', 'leader', 'none'].includes(acks)) throw new ConfigError(`Producer acks must be 'all', 'leader' or 'none', got '${String(acks)}'.`)
  integerOption('Producer maxInFlight', maxInFlight, 1, 1)
  integerOption('Producer retries', retries, 0, 0)
  if (idempotent && acks !== 'all') {
    throw new ConfigError(`An idempotent producer needs acks: 'all' (got '${acks}'): the broker can only deduplicate what all replicas acknowledged. Set acks: 'all' or idempotent: false.`)
  }
  if (idempotent && retries < 1) throw new ConfigError('An idempotent producer needs retries >= 1; idempotence exists to make retries safe.')
  if (idempotent && maxInFlight > 5) throw new ConfigError(`An idempotent producer keeps order with at most 5 requests in flight (Kafka's limit), got maxInFlight: ${maxInFlight}.`)
  const compression = options.compression ?? 'none'
  if (!COMPRESSIONS.includes(compression)) throw new ConfigError(`Producer compression must be one of ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}, got '${String(compression)}'.`)
  return { idempotent, acks, maxInFlight, retries, clientId, compression }
}

function schemaIssues(topic: string, field: SchemaField, outcome: ValidationOutcome, index: number | undefined): unknown {
  if (!outcome.ok) throw new SchemaError(topic, field, outcome.issues, index)
  return outcome.value
}

export class Producer {
  private backendProducer: BackendProducer | undefined
  private readonly placers = new Map<string, NullKeyPlacer>()
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false
  readonly settings: ProducerSettings

  /** @internal Created by client.producer(). */
  constructor(
    private readonly backend: Backend,
    private readonly topics: TopicResolver,
    private readonly options: ProducerOptions,
    clientId: string | undefined,
  ) {
    this.settings = resolveProducerSettings(options, clientId)
    if (options.partitioner !== undefined && typeof options.partitioner !== 'function') {
      throw new ConfigError('Producer partitioner must be a function (ctx) => partition.')
    }
  }

  /** Validates and serializes every record, then sends them; one bad record fails the call and nothing is sent. */
  send<T extends AnyTopic>(topic: T, record: SendRecord<T>): Promise<RecordMetadata>
  send<T extends AnyTopic>(topic: T, records: readonly SendRecord<T>[]): Promise<RecordMetadata[]>
  async send<T extends AnyTopic>(topic: T, input: SendRecord<T> | readonly SendRecord<T>[]): Promise<RecordMetadata | RecordMetadata[]> {
    const many = Array.isArray(input)
    const records = many ? (input as readonly SendRecord<T>[]) : [input as SendRecord<T>]
    const metadata = await this.dispatch(this.prepare(topic, records as readonly SendRecordShape[], many))
    return many ? metadata : metadata[0]!
  }

  /** Writes a tombstone: compaction later removes every record of this key. Only compacted topics have tombstones. */
  async tombstone<T extends CompactedTopic>(topic: T, key: KeyInputOf<T>, options: { headers?: HeadersInputOf<T> } = {}): Promise<RecordMetadata> {
    if (isTopic(topic) && !isCompacted(topic)) {
      throw new ConfigError(`Topic '${topic.name}' is not compacted (cleanupPolicy: '${topic.cleanupPolicy}'), so a tombstone would delete nothing. Declare cleanupPolicy: 'compact'.`)
    }
    const record = { key, value: null, headers: options.headers } as unknown as SendRecord<T>
    return this.send(topic, record)
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.tail
    this.closed = true
    await this.backendProducer?.close()
  }

  private async prepare(topic: AnyTopic, records: readonly SendRecordShape[], many: boolean): Promise<OutgoingRecord[]> {
    if (this.closed) throw new ClosedError('producer')
    checkTopic(topic, 'send()')
    const needsKey = keyRequirement(topic)
    if (topic.ordering === 'per-key' && !this.settings.idempotent && this.settings.retries > 0 && this.settings.maxInFlight > 1) {
      throw new ReorderingProducerError(topic.name, this.settings)
    }
    const { partitions } = await this.topics.resolve(topic)
    const compacted = isCompacted(topic)
    const placer = this.placer(topic.name)
    const now = Date.now()
    const out: OutgoingRecord[] = new Array(records.length)
    for (let i = 0; i < records.length; i++) {
      const index = many ? i : undefined
      const record = records[i]
      if (typeof record !== 'object' || record === null) {
        throw new SchemaError(topic.name, 'record', [{ message: `${describe(record)} is not a record: send an object { key, value }`, path: [] }], index)
      }
      let key = record.key
      if (key === null || key === undefined) {
        if (needsKey) throw new MissingKeyError(topic.name, needsKey, index)
        key = null
      } else if (topic.keySchema) {
        let v = validate(topic.keySchema, key)
        if (v instanceof Promise) v = await v
        key = schemaIssues(topic.name, 'key', v, index)
      }
      let value = record.value
      if (value === null || value === undefined) {
        if (value === undefined || !compacted) {
          const message = value === undefined
            ? 'the record has no value; send null only as a tombstone on a compacted topic'
            : `null is a tombstone, and this topic is not compacted (cleanupPolicy: '${topic.cleanupPolicy}'); send a value, or declare cleanupPolicy: 'compact'`
          throw new SchemaError(topic.name, 'value', [{ message, path: [] }], index)
        }
        value = null
      } else if (topic.valueSchema) {
        let v = validate(topic.valueSchema, value)
        if (v instanceof Promise) v = await v
        value = schemaIssues(topic.name, 'value', v, index)
      }
      if (record.headers !== undefined && record.headers !== null && (typeof record.headers !== 'object' || Array.isArray(record.headers))) {
        const message = `headers are an object of string values ({ name: 'value' }), got ${describe(record.headers)}`
        throw new SchemaError(topic.name, 'headers', [{ message, path: [] }], index)
      }
      let headers = (record.headers ?? NO_HEADERS) as Record<string, string>
      if (topic.headersSchema) {
        let v = validate(topic.headersSchema, headers)
        if (v instanceof Promise) v = await v
        headers = schemaIssues(topic.name, 'headers', v, index) as Record<string, string>
      } else if (headers !== NO_HEADERS) {
        for (const [name, h] of Object.entries(headers)) {
          if (typeof h !== 'string') {
            throw new SchemaError(topic.name, 'headers', [{ message: `header values are strings, got ${describe(h)}`, path: [name] }], index)
          }
        }
      }
      const keyBytes = key === null ? null : this.serialize(topic, 'key', key, index)
      const valueBytes = value === null ? null : this.serialize(topic, 'value', value, index)
      let partition: number
      if (record.partition !== undefined) {
        partition = checkPartition(topic.name, record.partition, partitions, `Record ${i}`)
      } else if (this.options.partitioner) {
        partition = checkPartition(topic.name, this.customPartition(topic.name, { topic: topic.name, key, keyBytes, value, partitions }, i), partitions, 'The custom partitioner')
      } else if (keyBytes !== null) {
        partition = partitionFor(keyBytes, partitions)
      } else {
        partition = placer.place(partitions, valueBytes?.length ?? 0)
      }
      const timestamp = record.timestamp ?? now
      if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
        const message = `must be a non-negative integer of milliseconds since the epoch (Date.now()), got ${typeof timestamp === 'number' ? timestamp : describe(timestamp)}`
        throw new SchemaError(topic.name, 'timestamp', [{ message, path: [] }], index)
      }
      out[i] = { topic: topic.name, partition, key: keyBytes, value: valueBytes, headers, timestamp }
    }
    placer.endBatch()
    return out
  }

  private customPartition(topic: string, ctx: Parameters<Partitioner>[0], index: number): unknown {
    try {
      return this.options.partitioner!(ctx)
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause)
      throw new PartitionerError(`The custom partitioner threw for record ${index} of topic '${topic}': ${why}. Nothing of this call was sent.`, { cause })
    }
  }

  private serialize(topic: AnyTopic, field: 'key' | 'value', data: unknown, index: number | undefined): Uint8Array {
    const serde = field === 'key' ? topic.keySerde : topic.valueSerde
    try {
      return serde.serialize(data)
    } catch (cause) {
      throw new SerdeError(topic.name, field, `the ${serde.name} serde failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, index })
    }
  }

  /**
   * With one request in flight, send calls go out in the order they were made, one after another, so concurrent
   * sends of one key keep their order on every backend (kafkajs's idempotent producer reorders otherwise).
   * The place in line is taken when send is called, before validation, which may be asynchronous.
   */
  private dispatch(prepared: Promise<OutgoingRecord[]>): Promise<RecordMetadata[]> {
    const send = (records: OutgoingRecord[]): Promise<RecordMetadata[]> => {
      if (this.closed) throw new ClosedError('producer')
      this.backendProducer ??= this.backend.producer(this.settings)
      return this.backendProducer.send(records)
    }
    const run = this.settings.maxInFlight > 1 ? prepared.then(send) : this.tail.then(() => prepared).then(send)
    const settled = run.catch(() => undefined)
    this.tail = this.settings.maxInFlight > 1 ? Promise.all([this.tail, settled]) : settled
    return run
  }

  private placer(topic: string): NullKeyPlacer {
    let placer = this.placers.get(topic)
    if (!placer) this.placers.set(topic, (placer = new NullKeyPlacer(this.options.nullKeyStrategy ?? 'sticky')))
    return placer
  }
}

interface SendRecordShape {
  key?: unknown
  value?: unknown
  headers?: unknown
  partition?: number
  timestamp?: number
}
