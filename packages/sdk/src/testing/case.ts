import { createRequire } from 'node:module'
import type { Backend, BackendCapabilities } from '../backend/contract.js'
import type { Harness } from './harness.js'

/**
 * What a case can need of a backend: a declared capability flag, `tables`, which a backend has when it implements
 * the contract's optional endOffsets() and reader(), `lag`, when it implements committedOffsets(), or `opentelemetry`,
 * which is not the backend's: the OpenTelemetry API and SDK packages are installed. A backend without it shows the
 * case as skipped.
 */
export type Capability = keyof BackendCapabilities | 'tables' | 'lag' | 'opentelemetry'
export type Features = Readonly<Record<Capability, boolean>>

/** One named conformance test: what the backend must have for it, and what it checks. */
export interface ConformanceCase {
  /** The test's name, unique in the table. */
  readonly name: string
  /** What the case checks beyond the contract's required part; the case is skipped, visibly, on a backend that lacks one. */
  readonly needs?: readonly Capability[]
  /** The test's time limit in multiples of the suite's timeoutMs. Default 4. */
  readonly timeoutFactor?: number
  /** The test: clients made through the harness are closed after it. */
  run(h: Harness): Promise<void>
}

/** The features of a backend, read once by describeConformance. */
export function featuresOf(backend: Backend): Features {
  return {
    ...backend.capabilities,
    tables: typeof backend.endOffsets === 'function' && typeof backend.reader === 'function',
    lag: typeof backend.committedOffsets === 'function',
    opentelemetry: openTelemetryInstalled(),
  }
}

/** Why a case does not run on a backend with these features, or undefined when it runs. */
export function skipReason(c: ConformanceCase, features: Features): string | undefined {
  const lacking = (c.needs ?? []).filter((need) => !features[need])
  if (lacking.includes('opentelemetry')) return `skipped: install ${OTEL_PACKAGES.join(', ')} to run it`
  return lacking.length ? `skipped: the backend lacks ${lacking.join(', ')}` : undefined
}

/** What the telemetry case runs on; not keyed's dependencies (an application installs what it uses). */
const OTEL_PACKAGES = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
]

function openTelemetryInstalled(): boolean {
  const require = createRequire(import.meta.url)
  try {
    for (const name of OTEL_PACKAGES) require.resolve(name)
    return true
  } catch {
    return false
  }
}
