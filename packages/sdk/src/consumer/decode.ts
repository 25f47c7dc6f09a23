import type { IncomingRecord } from '../backend/contract.js'
import { MissingKeyError, SchemaError, SerdeError, type SchemaField } from '../errors.js'
import { validate, type StandardSchemaV1, type ValidationOutcome } from '../schema.js'
import { isCompacted, keyRequirement, type AnyTopic } from '../topic.js'
import type { Message } from './types.js'
import type { Serde } from '../serdes.js'

/** Where a record failed: its bytes, its data, or the handler. Dead letters carry it in their stage header. */
export type Stage = 'deserialize' | 'validate' | 'handler'

/** A record that could not be handled, with the stage it failed at. Only handler failures are worth retrying. */
export class RecordFailure extends Error {
  constructor(
    readonly stage: Stage,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error))
  }
}

/** Turns a backend record into the message a handler is typed for; synchronous unless a schema validates asynchronously. */
export type Decoder = (record: IncomingRecord) => Message<AnyTopic> | Promise<Message<AnyTopic>>

const invalid = (
  topic: string,
  field: SchemaField,
  record: IncomingRecord,
  message: string,
  path: PropertyKey[] = [],
) => new RecordFailure('validate', new SchemaError(topic, field, [{ message, path }], undefined, record))

function checked(
  topic: string,
  field: 'key' | 'value' | 'headers',
  schema: StandardSchemaV1,
  data: unknown,
  record: IncomingRecord,
): unknown {
  const unwrap = (outcome: ValidationOutcome) => {
    if (!outcome.ok)
      throw new RecordFailure('validate', new SchemaError(topic, field, outcome.issues, undefined, record))
    return outcome.value
  }
  const outcome = validate(schema, data)
  return outcome instanceof Promise ? outcome.then(unwrap) : unwrap(outcome)
}

function deserialize(
  topic: AnyTopic,
  serde: Serde<unknown>,
  field: 'key' | 'value',
  record: IncomingRecord,
  bytes: Uint8Array,
): unknown {
  try {
    return serde.deserialize(bytes)
  } catch (cause) {
    const reason = `the ${serde.name} serde failed: ${cause instanceof Error ? cause.message : String(cause)}`
    throw new RecordFailure(
      'deserialize',
      new SerdeError(topic.name, field, reason, { cause, direction: 'deserialize', received: record }),
    )
  }
}

/**
 * The decoder of one topic. Records the topic's declaration rules out never reach a handler typed against them: a
 * keyless record on a topic that needs keys, a null value on one that is not compacted, a timestamp that is not a
 * number, a record the backend could not read. They fail like a value that does not decode or validate.
 */
export function decoderFor(topic: AnyTopic): Decoder {
  const name = topic.name
  const keyRule = keyRequirement(topic)
  const tombstones = isCompacted(topic)
  const { keySchema, valueSchema, headersSchema, keySerde, valueSerde } = topic
  const schemas = keySchema !== undefined || valueSchema !== undefined || headersSchema !== undefined
  const build = (record: IncomingRecord, key: unknown, value: unknown, headers: unknown) =>
    ({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key,
      value,
      headers,
      timestamp: record.timestamp,
    }) as Message<AnyTopic>
  return (record) => {
    if (record.decodeError !== undefined) {
      const { field, reason } = record.decodeError
      throw new RecordFailure(
        'deserialize',
        new SerdeError(name, field, reason, { direction: 'deserialize', received: record }),
      )
    }
    if (record.key === null && keyRule !== undefined)
      throw new RecordFailure('validate', new MissingKeyError(name, keyRule, undefined, record))
    if (record.value === null && !tombstones) {
      throw invalid(
        name,
        'value',
        record,
        "null (a tombstone) on a topic that is not compacted (cleanupPolicy: 'delete'); only compacted topics carry tombstones",
      )
    }
    if (typeof record.timestamp !== 'number' || !Number.isFinite(record.timestamp)) {
      throw invalid(name, 'timestamp', record, `expected milliseconds since the epoch, got ${String(record.timestamp)}`)
    }
    const key = record.key === null ? null : deserialize(topic, keySerde, 'key', record, record.key)
    const value = record.value === null ? null : deserialize(topic, valueSerde, 'value', record, record.value)
    if (!schemas) return build(record, key, value, record.headers)
    const k = key !== null && keySchema ? checked(name, 'key', keySchema, key, record) : key
    const v = value !== null && valueSchema ? checked(name, 'value', valueSchema, value, record) : value
    const h = headersSchema ? checked(name, 'headers', headersSchema, record.headers, record) : record.headers
    if (k instanceof Promise || v instanceof Promise || h instanceof Promise)
      return Promise.all([k, v, h]).then(([a, b, c]) => build(record, a, b, c))
    return build(record, k, v, h)
  }
}
