import { describe, expect, it } from 'vitest'
import { featuresOf, skipReason } from '../src/testing/case.js'
import { conformanceCases } from '../src/testing/cases/index.js'
import { recordingBackend } from './recording-backend.js'

describe('the conformance table', () => {
  it('names every case once, so a failure or a skip points at one case', () => {
    const names = conformanceCases.map((c) => c.name)
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([])
  })

  it('skips a case whose capability the backend lacks, naming the capability, and runs the rest', () => {
    const none = { compaction: false, timeRetention: false, tables: false, lag: false, opentelemetry: false }
    const all = { compaction: true, timeRetention: true, tables: true, lag: true, opentelemetry: true }
    const compaction = conformanceCases.find((c) => c.needs?.includes('compaction'))!
    expect(skipReason(compaction, none)).toBe('skipped: the backend lacks compaction')
    expect(skipReason(compaction, { ...none, compaction: true })).toBeUndefined()
    expect(conformanceCases.filter((c) => skipReason(c, all) !== undefined)).toEqual([])
    expect(conformanceCases.filter((c) => skipReason(c, none) === undefined).length).toBeGreaterThan(0)
  })

  it('counts tables as a feature only of a backend with both endOffsets() and reader()', () => {
    const plain = recordingBackend()
    expect(featuresOf(plain).tables).toBe(false)
    expect(featuresOf({ ...plain, endOffsets: async () => [] }).tables).toBe(false)
    expect(featuresOf({ ...plain, endOffsets: async () => [], reader: () => ({}) as never }).tables).toBe(true)
  })
})
