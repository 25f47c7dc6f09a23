import { describe, expect, it } from 'vitest'
import { compareIds, countUpTo, idAfter, idBefore } from '../src/ids.js'

describe('stream entry ids as offsets', () => {
  it('compare their 64-bit parts exactly (a Number loses the last digits of a large sequence)', () => {
    expect(compareIds('5-18446744073709551615', '5-18446744073709551614')).toBe(1)
    expect(compareIds('5', '5-0')).toBe(0)
    expect(compareIds('4-18446744073709551615', '5-0')).toBe(-1)
    expect(countUpTo(['1-0', '1-1', '2-0'], '1-1')).toBe(2)
  })

  it('step to the neighbouring id across a full sequence', () => {
    expect(idAfter('4-18446744073709551615')).toBe('5-0')
    expect(idBefore('5-0')).toBe('4-18446744073709551615')
  })
})
