import type { BackendCapabilities } from '../backend/contract.js'
import type { Harness } from './harness.js'

/** A capability flag a case can need; a backend that declares it false shows the case as skipped. */
export type Capability = keyof BackendCapabilities

/** One named conformance test: what the backend must declare for it, and what it checks. */
export interface ConformanceCase {
  /** The test's name, unique in the table. */
  readonly name: string
  /** Capabilities the case checks; the case is skipped, visibly, on a backend that lacks one. */
  readonly needs?: readonly Capability[]
  /** The test's time limit in multiples of the suite's timeoutMs. Default 4. */
  readonly timeoutFactor?: number
  /** The test: clients made through the harness are closed after it. */
  run(h: Harness): Promise<void>
}

/** Why a case does not run on a backend with these capabilities, or undefined when it runs. */
export function skipReason(c: ConformanceCase, capabilities: BackendCapabilities): string | undefined {
  const lacking = (c.needs ?? []).filter((need) => !capabilities[need])
  return lacking.length ? `skipped: the backend lacks ${lacking.join(', ')}` : undefined
}
