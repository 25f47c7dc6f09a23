import type { PreparedCall } from '../accumulator.js'
import type { RecordMetadata } from '../backend/contract.js'
import type { ClientTelemetry, SendObservation } from './hooks.js'

/**
 * One send() call observed: its span starts in the caller's context once its records are prepared, the trace context
 * goes into every record's headers (a header the record already has wins: a context the caller put there is kept),
 * and the span ends as the call settles.
 */
export function observedSend<R extends RecordMetadata | RecordMetadata[]>(
  start: NonNullable<ReturnType<ClientTelemetry['send']>>,
  prepared: PreparedCall | Promise<PreparedCall>,
  add: (prepared: PreparedCall | Promise<PreparedCall>) => Promise<R>,
): Promise<R> {
  let observation: SendObservation | undefined
  const withHeaders = (call: PreparedCall): PreparedCall => {
    observation = start(call.records)
    return observation?.headers ? withContext(call, observation.headers) : call
  }
  const result = add(prepared instanceof Promise ? prepared.then(withHeaders) : withHeaders(prepared))
  // Prepared at once and nothing observes it: no continuation to pay for.
  if (!(prepared instanceof Promise) && observation === undefined) return result
  result.then(
    (metadata) => observation?.end(Array.isArray(metadata) ? metadata : [metadata as RecordMetadata]),
    (error: unknown) => observation?.end(undefined, error),
  )
  return result
}

function withContext(call: PreparedCall, headers: Readonly<Record<string, string>>): PreparedCall {
  let extra = 0
  for (const name in headers) extra += name.length + headers[name]!.length
  for (const record of call.records) {
    // The preparer made these records for this call alone, so they are updated in place rather than copied.
    let own = false
    for (const _ in record.headers) {
      own = true
      break
    }
    ;(record as { headers: Readonly<Record<string, string>> }).headers = own
      ? { ...headers, ...record.headers }
      : headers
  }
  return { ...call, bytes: call.bytes + extra * call.records.length }
}
