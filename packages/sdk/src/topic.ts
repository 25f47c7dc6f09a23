import { ConfigError } from './errors.js'
import { isStandardSchema, type StandardSchemaV1 } from './schema.js'
import { integerOption } from './options.js'
import { describe, isSerde, serdes, type Serde } from './serdes.js'

export type Ordering = 'per-key' | 'none'
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete'
export type Headers = Record<string, string>

/** A key or value is described by a Standard Schema (validated, serialized by the serde) or by a serde alone. */
export type DataDef = StandardSchemaV1 | Serde<unknown>

type InferIn<D> = D extends StandardSchemaV1 ? StandardSchemaV1.InferInput<D> : D extends Serde<infer T> ? T : never
type InferOut<D> = D extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<D> : D extends Serde<infer T> ? T : never

export interface TopicOptions<KD, VD, HD, O extends Ordering, C extends CleanupPolicy> {
  /** Schema or serde of the key; a string key serialized as UTF-8 when omitted. */
  key?: KD
  /** How a schema-validated key becomes bytes; UTF-8 string by default. The partition is the hash of these bytes. */
  keySerde?: Serde<InferOut<KD>>
  /** Schema or serde of the value; JSON of unknown shape when omitted. */
  value?: VD
  /** How a schema-validated value becomes bytes; JSON by default. */
  valueSerde?: Serde<InferOut<VD>>
  /** Schema of the headers (string values). */
  headers?: HD
  /** Partition count; 1 when omitted, like Kafka's num.partitions. */
  partitions?: number
  /** 'per-key' (the default) keeps each key's records in order and requires a key; 'none' allows keyless records. */
  ordering?: O
  /** 'delete' (the default), 'compact' (latest value per key survives; null is a tombstone) or both. */
  cleanupPolicy?: C
  /** Time retention (Kafka retention.ms); -1 keeps forever. */
  retentionMs?: number
  /** Size retention per partition (Kafka retention.bytes); -1 for no limit. */
  retentionBytes?: number
  /** How long a tombstone stays readable on a compacted topic (Kafka delete.retention.ms). */
  deleteRetentionMs?: number
  /** The youngest a record can be and still be compacted away (Kafka min.compaction.lag.ms). */
  minCompactionLagMs?: number
  /** Further backend-specific settings, passed through (Kafka topic configs such as segment.ms). */
  config?: Record<string, string>
}

/** A declared topic. `ordering` and `cleanupPolicy` stay literal types so tools can read the design from the type. */
export interface Topic<
  K = unknown,
  V = unknown,
  O extends Ordering = Ordering,
  C extends CleanupPolicy = CleanupPolicy,
  H extends Headers = Headers,
  KIn = K,
  VIn = V,
  HIn = H,
> {
  readonly '~keyed': 'topic'
  readonly name: string
  readonly partitions: number
  readonly ordering: O
  readonly cleanupPolicy: C
  readonly retentionMs: number | undefined
  readonly retentionBytes: number | undefined
  readonly deleteRetentionMs: number | undefined
  readonly minCompactionLagMs: number | undefined
  readonly config: Readonly<Record<string, string>>
  readonly keySchema: StandardSchemaV1 | undefined
  readonly keySerde: Serde<K>
  readonly valueSchema: StandardSchemaV1 | undefined
  readonly valueSerde: Serde<V>
  readonly headersSchema: StandardSchemaV1 | undefined
  /** Phantom: carries the types into send and handlers; never set at runtime. */
  readonly '~types'?: { key: K; keyIn: KIn; value: V; valueIn: VIn; headers: H; headersIn: HIn }
}

/** Any declared topic, whatever its types. */
export type AnyTopic = Topic<unknown, unknown, Ordering, CleanupPolicy, Headers, unknown, unknown, unknown>
export type CompactedTopic = Topic<
  unknown,
  unknown,
  Ordering,
  'compact' | 'compact,delete',
  Headers,
  unknown,
  unknown,
  unknown
>

type Types<T extends AnyTopic> = NonNullable<T['~types']>
export type KeyOf<T extends AnyTopic> = Types<T>['key']
export type KeyInputOf<T extends AnyTopic> = Types<T>['keyIn']
export type ValueOf<T extends AnyTopic> = Types<T>['value']
export type ValueInputOf<T extends AnyTopic> = Types<T>['valueIn']
export type HeadersOf<T extends AnyTopic> = Types<T>['headers']
export type HeadersInputOf<T extends AnyTopic> = Types<T>['headersIn']

/** Only a topic that is unordered and never compacted may carry keyless records. Non-distributive on purpose: a widened union stays strict. */
export type KeyRequired<T extends AnyTopic> = [T['ordering']] extends ['none']
  ? [T['cleanupPolicy']] extends ['delete']
    ? false
    : true
  : true
/** Null values (tombstones) exist only where compaction can remove them. */
export type Compacted<T extends AnyTopic> = [T['cleanupPolicy']] extends ['delete'] ? false : true

const ORDERINGS: readonly Ordering[] = ['per-key', 'none']
const POLICIES: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete']

function optionalInt(name: string, field: string, value: number | undefined, min: number): number | undefined {
  return integerOption(`Topic '${name}': ${field}`, value, undefined, min)
}

/**
 * Topics made by defineTopic, or already checked. Only frozen objects enter, so a checked topic cannot change later.
 * A topic of another installed copy of the SDK is checked field by field once, then known.
 */
const known = new WeakSet<object>()

/** Kafka's rule for topic names; '.' and '..' are refused by Kafka as well (they would be directory names). */
const LEGAL_NAME = /^[a-zA-Z0-9._-]{1,249}$/

/** A name as it can be shown in a message: quoted and escaped, so a forged name cannot break the message or a log line. */
const shown = (name: unknown) => (typeof name === 'string' ? JSON.stringify(name) : String(name))

function nameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && LEGAL_NAME.test(name) && name !== '.' && name !== '..') return undefined
  return `topic name ${shown(name)} is not valid: use 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-', other than '.' and '..' (Kafka's rule)`
}

function dataParts(
  name: string,
  field: 'key' | 'value',
  def: unknown,
  serde: unknown,
  fallback: Serde<unknown>,
): [StandardSchemaV1 | undefined, Serde<unknown>] {
  if (serde !== undefined && !isSerde(serde)) {
    throw new ConfigError(
      `Topic '${name}': ${field}Serde must have serialize and deserialize functions (see serdes.json(), serdes.string()).`,
    )
  }
  if (def === undefined) return [undefined, (serde as Serde<unknown> | undefined) ?? fallback]
  if (isStandardSchema(def)) return [def, (serde as Serde<unknown> | undefined) ?? fallback]
  if (isSerde(def)) return [undefined, def]
  throw new ConfigError(
    `Topic '${name}': ${field} must be a Standard Schema (zod, valibot, arktype…) or a serde (serdes.string(), serdes.json()…).`,
  )
}

/** Declares a topic: its name, key and value types, partitions and the guarantees it relies on. */
export function defineTopic<
  const O extends Ordering = 'per-key',
  const C extends CleanupPolicy = 'delete',
  KD extends DataDef = Serde<string>,
  VD extends DataDef = Serde<unknown>,
  HD extends StandardSchemaV1<Headers, Headers> = StandardSchemaV1<Headers, Headers>,
>(
  name: string,
  options: TopicOptions<KD, VD, HD, O, C> = {},
): Topic<InferOut<KD>, InferOut<VD>, O, C, InferOut<HD> & Headers, InferIn<KD>, InferIn<VD>, InferIn<HD>> {
  const badName = nameProblem(name)
  if (badName) throw new ConfigError(`The ${badName}.`)
  const ordering = options.ordering ?? 'per-key'
  const cleanupPolicy = options.cleanupPolicy ?? 'delete'
  if (!ORDERINGS.includes(ordering)) {
    throw new ConfigError(`Topic '${name}': ordering must be 'per-key' or 'none', got '${String(ordering)}'.`)
  }
  if (!POLICIES.includes(cleanupPolicy)) {
    throw new ConfigError(
      `Topic '${name}': cleanupPolicy must be 'delete', 'compact' or 'compact,delete', got '${String(cleanupPolicy)}'.`,
    )
  }
  const partitions = optionalInt(name, 'partitions', options.partitions, 1) ?? 1
  const [keySchema, keySerde] = dataParts(name, 'key', options.key, options.keySerde, serdes.string() as Serde<unknown>)
  const [valueSchema, valueSerde] = dataParts(name, 'value', options.value, options.valueSerde, serdes.json())
  if (options.headers !== undefined && !isStandardSchema(options.headers)) {
    throw new ConfigError(`Topic '${name}': headers must be a Standard Schema of string values.`)
  }
  const topic = {
    '~keyed': 'topic' as const,
    name,
    partitions,
    ordering,
    cleanupPolicy,
    retentionMs: optionalInt(name, 'retentionMs', options.retentionMs, -1),
    retentionBytes: optionalInt(name, 'retentionBytes', options.retentionBytes, -1),
    deleteRetentionMs: optionalInt(name, 'deleteRetentionMs', options.deleteRetentionMs, 0),
    minCompactionLagMs: optionalInt(name, 'minCompactionLagMs', options.minCompactionLagMs, 0),
    config: Object.freeze({ ...options.config }),
    keySchema,
    keySerde,
    valueSchema,
    valueSerde,
    headersSchema: options.headers,
  }
  known.add(Object.freeze(topic))
  return topic as unknown as Topic<
    InferOut<KD>,
    InferOut<VD>,
    O,
    C,
    InferOut<HD> & Headers,
    InferIn<KD>,
    InferIn<VD>,
    InferIn<HD>
  >
}

/** What makes `x` unusable as a topic (a name or field that defineTopic would refuse), or undefined for a topic. */
export function topicProblem(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null || (x as { '~keyed'?: unknown })['~keyed'] !== 'topic')
    return `got ${describe(x)}, not a topic`
  if (known.has(x)) return undefined
  // A spread or edited copy would skip the checks defineTopic made; a frozen topic cannot be edited.
  if (!Object.isFrozen(x)) return 'this object is a copy of a topic, not the frozen one defineTopic() returned'
  const t = x as Partial<Record<keyof AnyTopic, unknown>>
  const problem =
    nameProblem(t.name) ??
    (typeof t.partitions !== 'number' || !Number.isSafeInteger(t.partitions) || t.partitions < 1
      ? `partitions ${String(t.partitions)} is not an integer >= 1`
      : undefined) ??
    (!ORDERINGS.includes(t.ordering as Ordering)
      ? `ordering ${shown(t.ordering)} is not 'per-key' or 'none'`
      : undefined) ??
    (!POLICIES.includes(t.cleanupPolicy as CleanupPolicy)
      ? `cleanupPolicy ${shown(t.cleanupPolicy)} is not 'delete', 'compact' or 'compact,delete'`
      : undefined) ??
    (!isSerde(t.keySerde) || !isSerde(t.valueSerde) ? 'its keySerde or valueSerde is not a serde' : undefined) ??
    ([t.keySchema, t.valueSchema, t.headersSchema].some((s) => s !== undefined && !isStandardSchema(s))
      ? 'one of its schemas is not a Standard Schema'
      : undefined) ??
    (typeof t.config !== 'object' || t.config === null || Object.values(t.config).some((v) => typeof v !== 'string')
      ? 'its config is not a map of strings'
      : undefined)
  if (problem === undefined) known.add(x)
  return problem
}

/** True for a topic defineTopic made (here or in another copy of the SDK) and nobody altered. */
export function isTopic(x: unknown): x is AnyTopic {
  return topicProblem(x) === undefined
}

/** Throws a ConfigError saying what is wrong when `x` is not a usable topic; `where` names the call ('send()'). */
export function checkTopic(x: unknown, where: string): asserts x is AnyTopic {
  const problem = topicProblem(x)
  if (problem !== undefined) throw new ConfigError(`${where} takes a topic from defineTopic(), but ${problem}.`)
}

/** Why a topic needs keys, or undefined when keyless records are fine. */
export function keyRequirement(topic: AnyTopic): string | undefined {
  const reasons = [
    topic.ordering === 'per-key' && "ordered per key (ordering: 'per-key')",
    topic.cleanupPolicy !== 'delete' && `compacted (cleanupPolicy: '${topic.cleanupPolicy}')`,
  ].filter(Boolean)
  return reasons.length ? reasons.join(' and ') : undefined
}

/** Compacted topics keep the latest record per key and accept tombstones; takes a topic, a spec or a description. */
export function isCompacted(topic: { readonly cleanupPolicy: CleanupPolicy }): boolean {
  return topic.cleanupPolicy !== 'delete'
}
