import { describe, expect, it } from 'vitest'
import { clampOffset, decimalOffsets, streamIdOffsets } from '../src/backend/offsets.js'

describe('offset formats and the seek clamp', () => {
  it('accepts decimal integers only, and compares them as 64-bit numbers', () => {
    for (const offset of ['0', '42', '18446744073709551615']) expect(decimalOffsets.valid(offset)).toBe(true)
    for (const offset of ['', 'abc', '-5', ' 0', '0 ', '1.5', '1e3', '0x10', '1-0'])
      expect(decimalOffsets.valid(offset), offset).toBe(false)
    expect(decimalOffsets.compare('9007199254740993', '9007199254740992')).toBe(1)
    expect(decimalOffsets.compare('7', '7')).toBe(0)
  })

  it("accepts stream entry ids ('<ms>-<seq>' or '<ms>') only, ordered by time then sequence", () => {
    for (const offset of ['0-0', '1700000000000-3', '1700000000000']) expect(streamIdOffsets.valid(offset)).toBe(true)
    for (const offset of ['', 'abc', '-5', '5-', ' 0-0', '1-2-3', '$', '>'])
      expect(streamIdOffsets.valid(offset), offset).toBe(false)
    expect(streamIdOffsets.compare('5-10', '5-9')).toBe(1)
    expect(streamIdOffsets.compare('5', '5-0')).toBe(0)
    expect(streamIdOffsets.compare('4-18446744073709551615', '5-0')).toBe(-1)
  })

  it('clamps past the end to the end and before the start to the start, as resetOffsets does', () => {
    const range = { low: '3', high: '5' }
    expect(clampOffset(decimalOffsets, '20', range)).toBe('5')
    expect(clampOffset(decimalOffsets, '0', range)).toBe('3')
    expect(clampOffset(decimalOffsets, '4', range)).toBe('4')
    expect(clampOffset(decimalOffsets, '5', range)).toBe('5')
    const ids = { low: '100-0', high: '200-1' }
    expect(clampOffset(streamIdOffsets, '300-0', ids)).toBe('200-1')
    expect(clampOffset(streamIdOffsets, '99-5', ids)).toBe('100-0')
    expect(clampOffset(streamIdOffsets, '150', ids)).toBe('150')
  })
})
