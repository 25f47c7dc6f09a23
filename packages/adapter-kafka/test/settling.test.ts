import { describe, expect, it } from 'vitest'
import { whileSettling } from '../src/settling.js'

const failing = (types: Array<string | undefined>) => {
  let calls = 0
  return {
    calls: () => calls,
    fn: async () => {
      const type = types[calls++]
      if (calls > types.length) return 'created'
      throw Object.assign(new Error(type ?? 'other'), { type })
    },
  }
}
const typeOf = (e: unknown) => (e as { type?: string }).type

describe('topic creation on a cluster whose metadata is settling', () => {
  it('runs again while the answer is UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE', async () => {
    const f = failing(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE'])
    await expect(whileSettling(f.fn, typeOf, 5000)).resolves.toBe('created')
    expect(f.calls()).toBe(3)
  })

  it('passes any other error on at once', async () => {
    const f = failing(['INVALID_CONFIG'])
    await expect(whileSettling(f.fn, typeOf, 5000)).rejects.toThrow('INVALID_CONFIG')
    expect(f.calls()).toBe(1)
  })

  it('gives up within its bound', async () => {
    const f = failing(Array.from({ length: 100 }, () => 'NOT_CONTROLLER'))
    const started = Date.now()
    await expect(whileSettling(f.fn, typeOf, 700)).rejects.toThrow('NOT_CONTROLLER')
    expect(Date.now() - started).toBeLessThan(1500)
  })
})
