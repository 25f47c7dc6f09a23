import { BackendUnavailableError, FencedError, KeyedError } from '@keyed/sdk/backend'
import { redact } from './options.js'

/** kafkajs errors carry `type` (the protocol error name) and sometimes the original cause as `originalError`. */
interface KafkaJsErrorShape {
  readonly name?: string
  readonly type?: string
  readonly message?: string
  readonly originalError?: unknown
  readonly cause?: unknown
}

const FENCING_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'FENCED_INSTANCE_ID'])
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

function shape(error: unknown): KafkaJsErrorShape {
  return typeof error === 'object' && error !== null ? (error as KafkaJsErrorShape) : { message: String(error) }
}

/** The innermost kafkajs error: retries wrap the last failure (KafkaJSNumberOfRetriesExceeded and others keep it as cause). */
function root(error: unknown): KafkaJsErrorShape {
  let current = shape(error)
  for (let i = 0; i < 5; i++) {
    const inner = current.cause ?? current.originalError
    if (typeof inner !== 'object' || inner === null || inner === current) break
    current = shape(inner)
  }
  return current
}

export function isRebalanceError(error: unknown): boolean {
  const type = root(error).type
  return type !== undefined && FENCING_TYPES.has(type)
}

export interface ErrorContext {
  readonly brokers: readonly string[]
  readonly secrets: readonly string[]
}

/** Turns a kafkajs failure into a keyed error whose message says what to do; secrets are removed from it. */
export function toKeyedError(error: unknown, action: string, context: ErrorContext): KeyedError {
  if (error instanceof KeyedError) return error
  const inner = root(error)
  const detail = redact(inner.message ?? String(error), context.secrets)
  const brokers = context.brokers.join(', ')
  if (inner.name === 'KafkaJSSASLAuthenticationError' || (inner.type !== undefined && SASL_TYPES.has(inner.type))) {
    return new BackendUnavailableError(
      'kafka',
      `authentication failed while trying to ${action} at ${brokers} (${inner.type ?? inner.name}: ${detail}). ` +
        'Check that this listener expects SASL with this mechanism (and TLS if it is SASL_SSL), and the username and password.',
    )
  }
  if (inner.name !== undefined && CONNECTION_NAMES.has(inner.name)) {
    return new BackendUnavailableError(
      'kafka',
      `could not ${action}: no broker answered at ${brokers} (${detail}). Start Kafka (\`npm run services\`, or bash scripts/kafka-start.sh) or fix the brokers option.`,
    )
  }
  if (inner.type !== undefined && FENCING_TYPES.has(inner.type)) {
    return new FencedError(`Could not ${action}: this member no longer owns the partition (${inner.type}); the group rebalanced and the new owner continues from the last commit.`)
  }
  const kind = inner.type ?? inner.name ?? 'Error'
  return new KeyedError('BACKEND_UNAVAILABLE', `The kafka backend could not ${action} (${kind}): ${detail}`)
}
