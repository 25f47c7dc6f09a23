import { utf8 } from './bytes.js'

/** Turns a key or value into bytes and back. Keys are hashed as these bytes, so a key serde decides the partition. */
export interface Serde<T> {
  readonly name: string
  serialize(value: T): Uint8Array
  deserialize(bytes: Uint8Array): T
}

const stringSerde: Serde<string> = {
  name: 'string',
  serialize(value) {
    if (typeof value !== 'string') {
      throw new TypeError(
        `expected a string but got ${describe(value)}; declare keySerde/valueSerde: serdes.json() for non-string data`,
      )
    }
    // Buffer.from is UTF-8 like Java's StringSerializer, so keys hash to the partitions a Java producer picks.
    return Buffer.from(value, 'utf8')
  },
  deserialize(bytes) {
    // Like Java's StringDeserializer, malformed bytes become U+FFFD rather than an error.
    return utf8(bytes)
  },
}

const bytesSerde: Serde<Uint8Array> = {
  name: 'bytes',
  serialize(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`expected a Uint8Array but got ${describe(value)}`)
    return value
  },
  deserialize(bytes) {
    return bytes
  },
}

function jsonSerde<T>(): Serde<T> {
  return {
    name: 'json',
    serialize(value) {
      const text = JSON.stringify(value)
      if (text === undefined) throw new TypeError(`${describe(value)} has no JSON form`)
      return Buffer.from(text, 'utf8')
    },
    deserialize(bytes) {
      return JSON.parse(utf8(bytes)) as T
    },
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (value instanceof Uint8Array) return 'a Uint8Array'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

export const serdes = {
  /** UTF-8 text; the default for keys, matching Kafka's StringSerializer. */
  string: (): Serde<string> => stringSerde,
  /** JSON text in UTF-8; the default for values. */
  json: jsonSerde,
  /** Raw bytes, passed through. */
  bytes: (): Serde<Uint8Array> => bytesSerde,
  /** Your own encoding (Avro, protobuf, msgpack…). */
  custom: <T>(serde: {
    name?: string
    serialize(value: T): Uint8Array
    deserialize(bytes: Uint8Array): T
  }): Serde<T> => ({
    name: serde.name ?? 'custom',
    serialize: (v) => serde.serialize(v),
    deserialize: (b) => serde.deserialize(b),
  }),
} as const

export function isSerde(x: unknown): x is Serde<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Serde<unknown>).serialize === 'function' &&
    typeof (x as Serde<unknown>).deserialize === 'function'
  )
}
