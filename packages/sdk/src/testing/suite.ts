import { afterEach, describe, it } from 'vitest'
import { featuresOf, skipReason } from './case.js'
import { conformanceCases } from './cases/index.js'
import { Harness, type ConformanceOptions } from './harness.js'

/**
 * Registers the conformance tests for one backend. Call it at the top level of a vitest test file. The backend's
 * features (capability flags, optional contract methods) are read once, from one backend made and closed while the
 * tests are collected; a case that needs one the backend lacks is listed as skipped, with the reason in its name.
 */
export function describeConformance(options: ConformanceOptions): void {
  const h = new Harness(options)
  describe(`keyed conformance: ${options.name}`, async () => {
    const probe = await options.backend()
    const features = featuresOf(probe)
    await probe.close()
    afterEach(() => h.closeAll())
    for (const c of conformanceCases) {
      const reason = skipReason(c, features)
      if (reason) it.skip(`${c.name} (${reason})`, () => {})
      else it(c.name, () => c.run(h), h.timeoutMs * (c.timeoutFactor ?? 4))
    }
  })
}
