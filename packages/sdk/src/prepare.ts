import type { PreparedCall } from './accumulator.js'
import type { OutgoingRecord } from './backend/contract.js'
import { nowThisTurn } from './clock.js'
import { MissingKeyError, PartitionerError, SchemaError, SerdeError, type SchemaField } from './errors.js'
import { partitionFor } from './murmur2.js'
import { checkPartition, NullKeyPlacer, type NullKeyStrategy, type Partitioner } from './partitioners.js'
import { validate, type ValidationOutcome } from './schema.js'
import { describe } from './serdes.js'
import { isCompacted, keyRequirement, type AnyTopic } from './topic.js'
import type { TopicResolver } from './topic-resolver.js'

interface TopicFacts {
  readonly partitions: number
  readonly needsKey: string | undefined
  readonly compacted: boolean
  readonly maxRequestBytes: number | undefined
}

/** What send() accepts from JavaScript callers, before any check. */
export interface SendRecordShape {
  key?: unknown
  value?: unknown
  headers?: unknown
  partition?: number
  timestamp?: number
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})
/** Per-record framing on the wire besides key, value and headers (Kafka's record: lengths, deltas, attributes). */
const RECORD_OVERHEAD_BYTES = 24

/** A record's estimated size on the wire (key, value, headers, framing), for maxQueuedBytes and batch.maxBytes. */
export function recordBytes(record: OutgoingRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0)
  if (record.headers !== NO_HEADERS)
    for (const name in record.headers) bytes += name.length + record.headers[name]!.length
  return bytes
}

/** What send() was given: one record (many false), or an array of them. Taken as is, so a one-record send allocates no array for it. */
type SendInput = SendRecordShape | readonly SendRecordShape[]

const count = (input: SendInput, many: boolean) => (many ? (input as readonly SendRecordShape[]).length : 1)
const at = (input: SendInput, many: boolean, i: number) =>
  many ? (input as readonly SendRecordShape[])[i] : (input as SendRecordShape)

/** Schema outcomes by record: [3i] key, [3i + 1] value, [3i + 2] headers; undefined where nothing was validated. */
type Outcomes = readonly (ValidationOutcome | undefined)[]

const headersShape = (headers: unknown) =>
  headers === undefined || headers === null || (typeof headers === 'object' && !Array.isArray(headers))

/** Runs the topic's schemas over every record that has something to validate; build() reads the outcomes in record order. */
function validateAll(
  topic: AnyTopic,
  input: SendInput,
  many: boolean,
): (ValidationOutcome | Promise<ValidationOutcome> | undefined)[] {
  const n = count(input, many)
  const outcomes: (ValidationOutcome | Promise<ValidationOutcome> | undefined)[] = new Array(n * 3)
  for (let i = 0; i < n; i++) {
    const record = at(input, many, i)
    if (typeof record !== 'object' || record === null) continue
    if (topic.keySchema && record.key !== null && record.key !== undefined)
      outcomes[3 * i] = validate(topic.keySchema, record.key)
    if (topic.valueSchema && record.value !== null && record.value !== undefined)
      outcomes[3 * i + 1] = validate(topic.valueSchema, record.value)
    if (topic.headersSchema && headersShape(record.headers))
      outcomes[3 * i + 2] = validate(topic.headersSchema, record.headers ?? NO_HEADERS)
  }
  return outcomes
}

function checked(topic: string, field: SchemaField, outcome: ValidationOutcome, index: number | undefined): unknown {
  if (!outcome.ok) throw new SchemaError(topic, field, outcome.issues, index)
  return outcome.value
}

/** Validates, serializes and partitions the records of one send() call; one bad record fails the whole call. */
export class RecordPreparer {
  private readonly placers = new Map<string, NullKeyPlacer>()
  /** Placers that placed records since the last request left. */
  private readonly placing = new Set<NullKeyPlacer>()
  /** Topics already resolved, so later calls need not wait on the resolver's promise, with what each call needs of them. */
  private readonly resolved = new WeakMap<AnyTopic, TopicFacts>()

  constructor(
    private readonly topics: TopicResolver,
    private readonly partitioner: Partitioner | undefined,
    private readonly nullKeyStrategy: NullKeyStrategy,
  ) {}

  /** Sticky keyless placement moves on once the records placed so far left in a request (Java's sticky partitioner, KIP-794). */
  requestLeft(): void {
    if (this.placing.size === 0) return
    for (const placer of this.placing) placer.endBatch()
    this.placing.clear()
  }

  /**
   * Synchronous when the topic is known and its schemas are (no promise is allocated then); a promise otherwise.
   * Schemas run first, for every record, so asynchronous ones are awaited together; then each record is checked,
   * serialized and partitioned in order, so the first bad record (by index, then key, value, headers) is the one reported.
   */
  prepare(topic: AnyTopic, records: SendInput, many: boolean): PreparedCall | Promise<PreparedCall> {
    const facts = this.resolved.get(topic)
    if (!facts) {
      return this.topics.resolve(topic).then(({ partitions }) => {
        if (!this.resolved.has(topic))
          this.resolved.set(topic, {
            partitions,
            needsKey: keyRequirement(topic),
            compacted: isCompacted(topic),
            maxRequestBytes: declaredMaxBytes(topic),
          })
        return this.prepare(topic, records, many)
      })
    }
    if (!topic.keySchema && !topic.valueSchema && !topic.headersSchema)
      return this.build(topic, facts, records, many, undefined)
    const outcomes = validateAll(topic, records, many)
    if (!outcomes.some((o) => o instanceof Promise))
      return this.build(topic, facts, records, many, outcomes as Outcomes)
    return this.buildWhenValidated(topic, facts, records, many, outcomes)
  }

  /** Builds the call once its asynchronous schemas settled; each schema ran once, here or in prepareOne. */
  private buildWhenValidated(
    topic: AnyTopic,
    facts: TopicFacts,
    records: SendInput,
    many: boolean,
    outcomes: (ValidationOutcome | Promise<ValidationOutcome> | undefined)[],
  ): Promise<PreparedCall> {
    return Promise.all(outcomes.map((o) => Promise.resolve(o))).then((settled) =>
      this.build(topic, facts, records, many, settled),
    )
  }

  /**
   * One record given unwrapped (send(topic, record)): its OutgoingRecord itself when it is prepared at once, with no
   * call object or array around it; a promise of the call when its topic or a schema makes it wait.
   */
  prepareOne(topic: AnyTopic, record: SendRecordShape): OutgoingRecord | Promise<PreparedCall> {
    const facts = this.resolved.get(topic)
    if (!facts) return this.prepare(topic, record, false) as Promise<PreparedCall>
    if (!topic.keySchema && !topic.valueSchema && !topic.headersSchema)
      return this.buildRecord(topic, facts, record, 0, undefined, undefined, nowThisTurn())
    const outcomes = validateAll(topic, record, false)
    if (outcomes.some((o) => o instanceof Promise))
      return this.buildWhenValidated(topic, facts, record, false, outcomes)
    return this.buildRecord(topic, facts, record, 0, undefined, outcomes as Outcomes, nowThisTurn())
  }

  /** The most bytes a request holding this topic's records may carry, once the topic is resolved (prepareOne returned a record). */
  maxRequestBytes(topic: AnyTopic): number | undefined {
    return this.resolved.get(topic)?.maxRequestBytes
  }

  private build(
    topic: AnyTopic,
    facts: TopicFacts,
    records: SendInput,
    many: boolean,
    outcomes: Outcomes | undefined,
  ): PreparedCall {
    const now = nowThisTurn()
    const n = count(records, many)
    const out: OutgoingRecord[] = new Array(n)
    let bytes = 0
    for (let i = 0; i < n; i++) {
      const record = this.buildRecord(topic, facts, at(records, many, i), i, many ? i : undefined, outcomes, now)
      bytes += recordBytes(record)
      out[i] = record
    }
    return { records: out, bytes, maxRequestBytes: facts.maxRequestBytes }
  }

  /** Checks, serializes and partitions record `i` of a call (`index` names it in errors: undefined for an unwrapped record). */
  private buildRecord(
    topic: AnyTopic,
    facts: TopicFacts,
    record: SendRecordShape | undefined,
    i: number,
    index: number | undefined,
    outcomes: Outcomes | undefined,
    now: number,
  ): OutgoingRecord {
    const { partitions, needsKey, compacted } = facts
    if (typeof record !== 'object' || record === null) {
      throw new SchemaError(
        topic.name,
        'record',
        [{ message: `${describe(record)} is not a record: send an object { key, value }`, path: [] }],
        index,
      )
    }
    let key = record.key
    if (key === null || key === undefined) {
      if (needsKey) throw new MissingKeyError(topic.name, needsKey, index)
      key = null
    } else if (topic.keySchema) {
      key = checked(topic.name, 'key', outcomes![3 * i]!, index)
    }
    let value = record.value
    if (value === null || value === undefined) {
      if (value === undefined || !compacted) {
        const message =
          value === undefined
            ? 'the record has no value; send null only as a tombstone on a compacted topic'
            : `null is a tombstone, and this topic is not compacted (cleanupPolicy: '${topic.cleanupPolicy}'); send a value, or declare cleanupPolicy: 'compact'`
        throw new SchemaError(topic.name, 'value', [{ message, path: [] }], index)
      }
      value = null
    } else if (topic.valueSchema) {
      value = checked(topic.name, 'value', outcomes![3 * i + 1]!, index)
    }
    if (!headersShape(record.headers)) {
      const message = `headers are an object of string values ({ name: 'value' }), got ${describe(record.headers)}`
      throw new SchemaError(topic.name, 'headers', [{ message, path: [] }], index)
    }
    let headers = (record.headers ?? NO_HEADERS) as Record<string, string>
    if (topic.headersSchema)
      headers = checked(topic.name, 'headers', outcomes![3 * i + 2]!, index) as Record<string, string>
    if (headers !== NO_HEADERS) {
      for (const name in headers) {
        const h = headers[name]
        if (typeof h !== 'string') {
          throw new SchemaError(
            topic.name,
            'headers',
            [{ message: `header values are strings, got ${describe(h)}`, path: [name] }],
            index,
          )
        }
      }
    }
    const keyBytes = key === null ? null : serialize(topic, 'key', key, index)
    const valueBytes = value === null ? null : serialize(topic, 'value', value, index)
    let partition: number
    if (record.partition !== undefined) {
      partition = checkPartition(topic.name, record.partition, partitions, `Record ${i}`)
    } else if (this.partitioner) {
      partition = checkPartition(
        topic.name,
        this.custom(topic.name, { topic: topic.name, key, keyBytes, value, partitions }, i),
        partitions,
        'The custom partitioner',
      )
    } else if (keyBytes !== null) {
      partition = partitionFor(keyBytes, partitions)
    } else {
      partition = this.placer(topic.name).place(partitions, valueBytes?.length ?? 0)
    }
    const timestamp = record.timestamp ?? now
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      const message = `must be a non-negative integer of milliseconds since the epoch (Date.now()), got ${typeof timestamp === 'number' ? timestamp : describe(timestamp)}`
      throw new SchemaError(topic.name, 'timestamp', [{ message, path: [] }], index)
    }
    return { topic: topic.name, partition, key: keyBytes, value: valueBytes, headers, timestamp }
  }

  private custom(topic: string, ctx: Parameters<Partitioner>[0], index: number): unknown {
    try {
      return this.partitioner!(ctx)
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause)
      throw new PartitionerError(
        `The custom partitioner threw for record ${index} of topic '${topic}': ${why}. Nothing of this call was sent.`,
        { cause },
      )
    }
  }

  private placer(topic: string): NullKeyPlacer {
    let placer = this.placers.get(topic)
    if (!placer) this.placers.set(topic, (placer = new NullKeyPlacer(this.nullKeyStrategy)))
    this.placing.add(placer)
    return placer
  }
}

function serialize(topic: AnyTopic, field: 'key' | 'value', data: unknown, index: number | undefined): Uint8Array {
  const serde = field === 'key' ? topic.keySerde : topic.valueSerde
  try {
    return serde.serialize(data)
  } catch (cause) {
    throw new SerdeError(
      topic.name,
      field,
      `the ${serde.name} serde failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, index },
    )
  }
}

/** A topic declared with a smaller max.message.bytes than a request may carry: merged calls must stay under it. */
function declaredMaxBytes(topic: AnyTopic): number | undefined {
  const declared = topic.config['max.message.bytes']
  if (declared === undefined) return undefined
  const n = Number(declared)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}
