import type { ClientTelemetry } from './hooks.js'
import { otelApi } from './load.js'
import type { TelemetryOptions } from './options.js'
import { OtelTelemetry } from './otel.js'

/**
 * The client's telemetry: none when turned off (`telemetry: false`) or when @opentelemetry/api is not installed (then
 * nothing of it is loaded and the producer and consumer take the same path as with telemetry off).
 */
export function createTelemetry(
  options: TelemetryOptions | false | undefined,
  system: string,
  clientId: string | undefined,
): ClientTelemetry | undefined {
  if (options === false) return undefined
  const api = otelApi()
  return api && new OtelTelemetry(api, options ?? {}, system, clientId)
}
