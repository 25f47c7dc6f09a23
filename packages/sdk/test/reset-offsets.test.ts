import { describe, expect, it } from 'vitest'
import type { Backend, ResetPosition } from '../src/backend/contract.js'
import { checkDecimalOffsets, clampDecimalOffsets } from '../src/backend/decimal-offsets.js'
import { ConfigError } from '../src/errors.js'
import { resetOffsets } from '../src/reset-offsets.js'

const edges = new Map([[0, { low: '3', high: '5' }]])

describe('decimal offsets of resetOffsets', () => {
  it('clamps an offset to [earliest, end] of its partition, as kafka-consumer-groups does, and says which', () => {
    const positions: ResetPosition[] = [
      { partition: 0, offset: '1000' },
      { partition: 0, offset: '1' },
      { partition: 0, offset: '4' },
      { partition: 0, to: 'latest' },
    ]
    expect(clampDecimalOffsets(positions, edges)).toEqual({
      offsets: [
        { partition: 0, offset: '5' },
        { partition: 0, offset: '3' },
        { partition: 0, offset: '4' },
        { partition: 0, offset: '5' },
      ],
      clamped: [
        { partition: 0, requested: '1000', offset: '5' },
        { partition: 0, requested: '1', offset: '3' },
      ],
    })
  })

  it('refuses an offset that is not a decimal integer with a ConfigError naming it', () => {
    for (const offset of ['abc', '-1', '1.5', ' 2'])
      expect(() => checkDecimalOffsets('kafka', 't', [{ partition: 0, offset }])).toThrow(ConfigError)
    expect(() => checkDecimalOffsets('kafka', 't', [{ partition: 1, offset: 'abc' }])).toThrow(/partition 1.*'abc'/)
  })

  it("logs each clamp the backend reports at warn through the client's logger", async () => {
    const backend = {
      name: 'fake',
      describeTopic: async () => ({ name: 't', partitions: 1 }),
      resetOffsets: async () => [{ partition: 0, requested: '1000', offset: '5' }],
    } as unknown as Backend
    const warned: string[] = []
    const logger = { debug() {}, info() {}, error() {}, warn: (_: object, msg?: string) => void warned.push(msg ?? '') }
    await resetOffsets(backend, 'g', 't', { 0: '1000' }, logger)
    expect(warned).toHaveLength(1)
    expect(warned[0]).toMatch(/offset 1000 of partition 0 .* set to 5/)
  })
})
