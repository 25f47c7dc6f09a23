import type { KafkaJsErrorShape } from '../errors.js'

/** What @platformatic/kafka's errors carry (GenericError and its subclasses; MultipleErrors adds `errors`). */
interface PlatformaticError {
  readonly code?: string
  readonly message?: string
  readonly apiId?: string
  readonly serverErrorMessage?: string | null
  readonly canRetry?: boolean
  readonly errors?: readonly unknown[]
  readonly cause?: unknown
}

const isObject = (e: unknown): e is PlatformaticError => typeof e === 'object' && e !== null

function shapeOf(e: PlatformaticError): KafkaJsErrorShape {
  return {
    name: e.code ?? (e instanceof Error ? e.name : undefined),
    type: e.apiId,
    // The broker's own explanation, when it sent one, says more than the client's generic text.
    message: e.serverErrorMessage ? `${e.message ?? ''} ${e.serverErrorMessage}`.trim() : e.message,
    retriable: e.canRetry,
    // TimeoutError carries the network code too: a broker that does not answer in time.
    connection: e.code === 'PLT_KFK_NETWORK',
    sasl: e.code === 'PLT_KFK_AUTHENTICATION',
  }
}

/** Every protocol error (one with a Kafka error name) in an error tree, depth first. */
function protocolErrors(e: unknown, out: PlatformaticError[] = [], depth = 0): PlatformaticError[] {
  if (!isObject(e) || depth > 6) return out
  if (e.apiId !== undefined) out.push(e)
  for (const inner of e.errors ?? []) protocolErrors(inner, out, depth + 1)
  protocolErrors(e.cause, out, depth + 1)
  return out
}

/**
 * The protocol error that says most: a Produce answer can carry UNKNOWN_SERVER_ERROR for the partition beside the
 * record error that explains it (INVALID_TIMESTAMP), so a specific name wins over the generic one.
 */
function protocolError(e: unknown): PlatformaticError | undefined {
  const all = protocolErrors(e)
  return all.find((p) => p.apiId !== 'UNKNOWN_SERVER_ERROR') ?? all[0]
}

/**
 * A @platformatic/kafka failure as the shapes the shared mapping (../errors.ts) reads, outermost first. Aggregates
 * ("Producing messages failed.") hold one error per broker or partition: the protocol error among them decides, else
 * the innermost first error (a lost connection, a timeout).
 */
export function platformaticChain(error: unknown): KafkaJsErrorShape[] {
  if (!isObject(error)) return [{ message: String(error) }]
  const out = [shapeOf(error)]
  const found = protocolError(error)
  if (found && found !== error) return [...out, shapeOf(found)]
  let current: unknown = error
  for (let i = 0; i < 6; i++) {
    const e = current as PlatformaticError
    const inner = e.errors?.find(isObject) ?? e.cause
    if (!isObject(inner) || typeof inner.message !== 'string') break
    out.push(shapeOf(inner))
    current = inner
  }
  return out
}
