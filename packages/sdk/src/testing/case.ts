import type { Backend, BackendCapabilities } from '../backend/contract.js'
import type { Harness } from './harness.js'

/**
 * What a case can need of a backend: a declared capability flag, `tables`, which a backend has when it implements
 * the contract's optional endOffsets() and reader(), or `lag`, when it implements committedOffsets(). A backend
 * without it shows the case as skipped.
 */
export type Capability = keyof BackendCapabilities | 'tables' | 'lag'
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
  }
}

/** Why a case does not run on a backend with these features, or undefined when it runs. */
export function skipReason(c: ConformanceCase, features: Features): string | undefined {
  const lacking = (c.needs ?? []).filter((need) => !features[need])
  return lacking.length ? `skipped: the backend lacks ${lacking.join(', ')}` : undefined
}
