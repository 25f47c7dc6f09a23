import type { PreparedCall } from '../accumulator.js'
import type { OutgoingRecord, RecordMetadata } from '../backend/contract.js'
import type { ClientTelemetry, SendObservation } from './hooks.js'

/**
 * One send() call observed: its span starts in the caller's context once its records are prepared, the trace context
 * goes into every record's headers (a header the record already has wins: a context the caller put there is kept),
 * and the span ends as the call settles.
 */
export function observedSend<R extends RecordMetadata | RecordMetadata[]>(
  telemetry: ClientTelemetry,
  topic: string,
  prepared: PreparedCall | Promise<PreparedCall>,
  add: (prepared: PreparedCall | Promise<PreparedCall>) => Promise<R>,
): Promise<R> {
  const start = telemetry.send(topic)
  let observation: SendObservation | undefined
  const withHeaders = (call: PreparedCall): PreparedCall => {
    observation = start(call.records)
    return observation?.headers ? withContext(call, observation.headers) : call
  }
  const result = add(prepared instanceof Promise ? prepared.then(withHeaders) : withHeaders(prepared))
  result.then(
    (metadata) => observation?.end(Array.isArray(metadata) ? metadata : [metadata as RecordMetadata]),
    (error: unknown) => observation?.end(undefined, error),
  )
  return result
}

function withContext(call: PreparedCall, headers: Readonly<Record<string, string>>): PreparedCall {
  let extra = 0
  for (const name in headers) extra += name.length + headers[name]!.length
  const records = call.records.map((r): OutgoingRecord => ({
    ...r,
    headers: Object.keys(r.headers).length ? { ...headers, ...r.headers } : headers,
  }))
  return { ...call, records, bytes: call.bytes + extra * records.length }
}
