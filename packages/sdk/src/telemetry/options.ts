/**
 * OpenTelemetry for one client. keyed uses @opentelemetry/api when the application has it installed: the global
 * tracer and meter providers, propagator and context manager, unless providers are given here. The types are
 * structural so keyed's own types do not need @opentelemetry/api: a TracerProvider and a MeterProvider of the API
 * or of the OpenTelemetry SDK fit.
 */
export interface TelemetryOptions {
  /** Where spans go; the global tracer provider by default. */
  tracerProvider?: { getTracer(name: string, version?: string): object }
  /** Where metrics go; the global meter provider by default. */
  meterProvider?: { getMeter(name: string, version?: string): object }
}
