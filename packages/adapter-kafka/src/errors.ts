import {
  AuthenticationError,
  BackendRefusedError,
  BackendUnavailableError,
  FencedError,
  isKeyedError,
  type KeyedError,
} from '@keyed/sdk/backend'
import { redact } from './options.js'

/**
 * A client's failure as the mapping below reads it: `type` is the protocol error name (MESSAGE_TOO_LARGE…),
 * `retriable` what the client says of it. kafkajs errors have this shape (with the original cause as `originalError`);
 * other clients' errors are translated into it (`connection` / `sasl` mark lost connections and refused logins).
 */
export interface KafkaJsErrorShape {
  readonly name?: string
  readonly type?: string
  readonly message?: string
  readonly retriable?: boolean
  readonly originalError?: unknown
  readonly cause?: unknown
  readonly connection?: boolean
  readonly sasl?: boolean
}

/** A client's failure, outermost first, as shapes the mapping reads. */
export type ErrorChain = (error: unknown) => KafkaJsErrorShape[]

const FENCING_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'FENCED_INSTANCE_ID',
])
const SASL_TYPES = new Set(['ILLEGAL_SASL_STATE', 'UNSUPPORTED_SASL_MECHANISM', 'SASL_AUTHENTICATION_FAILED'])
const CONNECTION_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
])

const TOO_LARGE =
  "the record batch is larger than the topic's max.message.bytes (or the broker's message.max.bytes); send smaller records or fewer per call, or raise the topic's max.message.bytes"

/** Broker answers that the same request gets again: the setting to change and how. */
const REFUSALS: Readonly<Record<string, { readonly setting: string; readonly hint: string }>> = {
  MESSAGE_TOO_LARGE: { setting: 'max.message.bytes', hint: TOO_LARGE },
  RECORD_LIST_TOO_LARGE: { setting: 'max.message.bytes', hint: TOO_LARGE },
  INVALID_TIMESTAMP: {
    setting: 'message.timestamp.before.max.ms',
    hint:
      "a record's timestamp is further from the broker's clock than the topic allows (message.timestamp.before.max.ms / " +
      'message.timestamp.after.max.ms); send a timestamp near now, or raise those topic settings',
  },
  INVALID_SESSION_TIMEOUT: {
    setting: 'sessionTimeoutMs',
    hint:
      "the consumer's sessionTimeoutMs is outside the broker's group.min.session.timeout.ms .. group.max.session.timeout.ms " +
      '(6000 .. 1800000 by default); choose a sessionTimeoutMs inside that range, or change those broker settings',
  },
  INCONSISTENT_GROUP_PROTOCOL: {
    setting: 'groupId',
    hint:
      'the group has members of another protocol: a keyed consumer cannot share a group with a Java consumer on the classic ' +
      'protocol (they have no assignor in common), only with Java consumers using group.protocol=consumer (KIP-848); use another groupId',
  },
  INVALID_REPLICATION_FACTOR: {
    setting: 'replicationFactor',
    hint: "the replication factor is larger than the number of brokers or not allowed; lower kafka({ replicationFactor }), or -1 for the broker's default.replication.factor",
  },
  INVALID_PARTITIONS: {
    setting: 'partitions',
    hint: "the broker does not accept this partition count; change the topic's partitions",
  },
  INVALID_TOPIC_EXCEPTION: {
    setting: 'name',
    hint: 'Kafka does not accept this topic name (letters, digits, ".", "_", "-", at most 249 characters)',
  },
  POLICY_VIOLATION: {
    setting: 'config',
    hint: "the broker's topic policy refuses this topic; ask its operator which settings it allows",
  },
  INVALID_CONFIG: { setting: 'config', hint: 'the broker refused a setting of the request' },
  UNSUPPORTED_COMPRESSION_TYPE: {
    setting: 'compression',
    hint: 'the broker does not accept this compression (zstd needs Kafka 2.1 or later); choose another',
  },
  TOPIC_AUTHORIZATION_FAILED: {
    setting: 'ACL',
    hint: 'this principal may not use the topic; grant it the ACLs it needs',
  },
  GROUP_AUTHORIZATION_FAILED: {
    setting: 'ACL',
    hint: 'this principal may not use the consumer group; grant it the ACLs it needs',
  },
  CLUSTER_AUTHORIZATION_FAILED: {
    setting: 'ACL',
    hint: 'this principal may not do this on the cluster (an idempotent producer needs IDEMPOTENT_WRITE); grant it the ACLs it needs',
  },
}

function shape(error: unknown): KafkaJsErrorShape {
  return typeof error === 'object' && error !== null ? (error as KafkaJsErrorShape) : { message: String(error) }
}

/** The error and what it wraps, outermost first: kafkajs's retries and aggregates keep the last failure as cause, originalError or errors[0]. */
export function chain(error: unknown): KafkaJsErrorShape[] {
  const out = [shape(error)]
  for (let i = 0; i < 5; i++) {
    const current = out[out.length - 1]!
    const inner = current.cause ?? current.originalError ?? (current as { errors?: unknown[] }).errors?.[0]
    if (typeof inner !== 'object' || inner === null || out.includes(inner as KafkaJsErrorShape)) break
    // Only errors: kafkajs also hangs plain request details here.
    if (typeof (inner as KafkaJsErrorShape).message !== 'string') break
    out.push(inner as KafkaJsErrorShape)
  }
  return out
}

/** The innermost error of a kafkajs failure. */
export function root(error: unknown): KafkaJsErrorShape {
  return chain(error).at(-1)!
}

const isSasl = (e: KafkaJsErrorShape) =>
  e.sasl === true || e.name === 'KafkaJSSASLAuthenticationError' || (e.type !== undefined && SASL_TYPES.has(e.type))

export interface ErrorContext {
  readonly brokers: readonly string[]
  readonly secrets: readonly string[]
  /** The client was told to use TLS: a plaintext listener then looks like a broker that never answers. */
  readonly tls?: boolean
}

/** kafkajs reports some lost connections as plain errors ("Broker not connected", a socket error code). */
const CONNECTION_MESSAGE =
  /not connected|connection (?:closed|timeout|error)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|socket hang up/i

/**
 * Turns a kafkajs failure into a keyed error whose message says what to do. Secrets are removed from the message and
 * the kafkajs error is never kept as cause (its fields can hold a broker string or a SASL exchange).
 */
export function toKeyedError(
  error: unknown,
  action: string,
  context: ErrorContext,
  explain: ErrorChain = chain,
): KeyedError {
  if (isKeyedError(error)) return error
  const shapes = explain(error)
  const inner = shapes.at(-1) ?? { message: String(error) }
  const detail = redact(inner.message ?? String(error), context.secrets)
  const brokers = redact(context.brokers.join(', '), context.secrets)
  const kind = inner.type ?? inner.name ?? 'Error'
  if (shapes.some(isSasl)) {
    return new AuthenticationError(
      'kafka',
      `could not ${action} at ${brokers} (${kind}: ${detail}). ` +
        'Check that this listener expects SASL with this mechanism (and TLS if it is SASL_SSL), and the username and password.',
    )
  }
  if (
    inner.connection === true ||
    (inner.name !== undefined && CONNECTION_NAMES.has(inner.name)) ||
    CONNECTION_MESSAGE.test(inner.message ?? '')
  ) {
    const tls = context.tls
      ? ' This client uses TLS: a plaintext listener looks like this too (drop ssl, or point at the TLS listener).'
      : ''
    return new BackendUnavailableError(
      'kafka',
      `could not ${action}: no broker answered at ${brokers} (${detail}). Check that Kafka is running there and the ` +
        `brokers option names its listener (host:port as the broker advertises it).${tls}`,
    )
  }
  if (inner.type !== undefined && FENCING_TYPES.has(inner.type)) {
    return new FencedError(
      `Could not ${action}: this member no longer owns the partition (${inner.type}); the group rebalanced and the new owner continues from the last commit.`,
    )
  }
  const refusal = inner.type === undefined ? undefined : REFUSALS[inner.type]
  if (refusal)
    return new BackendRefusedError('kafka', `could not ${action} (${kind}): ${refusal.hint}.`, {
      setting: refusal.setting,
    })
  // kafkajs marks what may pass (a leader election, a coordinator loading); anything else fails the same way again.
  if (inner.retriable === true)
    return new BackendUnavailableError(
      'kafka',
      `could not ${action} (${kind}): ${detail}. Trying again later may succeed.`,
    )
  if (inner.type !== undefined) return new BackendRefusedError('kafka', `could not ${action} (${kind}): ${detail}`)
  // Not a Kafka error code and not a known kafkajs failure: say so, and do not promise that retrying helps.
  return new BackendUnavailableError(
    'kafka',
    `the client failed to ${action} (${kind}): ${detail}. This is no error code of the broker's; if it persists, ` +
      'check the brokers option and the broker logs.',
    { retriable: false },
  )
}
