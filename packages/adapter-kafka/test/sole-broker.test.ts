import { afterEach, describe, expect, it, vi } from 'vitest'
import { SoleBroker } from '../src/sole-broker.js'

const tick = () => new Promise((resolve) => setImmediate(resolve))

afterEach(() => vi.useRealTimers())

describe('SoleBroker: may an idempotent producer send a call’s partitions in one kafkajs sendBatch?', () => {
  it('not before a look at the cluster said one broker; then yes, without waiting', async () => {
    const sole = new SoleBroker(async () => [1])
    expect(sole.now()).toBe(false)
    await tick()
    expect(sole.now()).toBe(true)
  })

  it('never again once a look showed two brokers, or another broker than before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let ids = [1]
    const sole = new SoleBroker(async () => ids)
    sole.now()
    await tick()
    expect(sole.now()).toBe(true)
    ids = [2] // broker 1 replaced: kafkajs may still route to it
    vi.advanceTimersByTime(10_001)
    expect(sole.now()).toBe(false)
    await tick()
    expect(sole.now()).toBe(false)
    ids = [1]
    vi.advanceTimersByTime(10_001)
    sole.now()
    await tick()
    expect(sole.now()).toBe(false)

    const two = new SoleBroker(async () => [1, 2])
    two.now()
    await tick()
    expect(two.now()).toBe(false)
  })

  it('not while its look is stale or failed, nor after a send failed, until a new look', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let fail = true
    const looks = vi.fn(async () => {
      if (fail) throw new Error('no admin')
      return [1]
    })
    const sole = new SoleBroker(looks)
    sole.now()
    await tick()
    expect(sole.now()).toBe(false) // a failed look is taken again on the next call
    await tick()
    fail = false
    expect(sole.now()).toBe(false)
    await tick()
    expect(sole.now()).toBe(true)
    sole.distrust()
    expect(sole.now()).toBe(false)
    await tick()
    expect(sole.now()).toBe(true)
    vi.advanceTimersByTime(10_001)
    expect(sole.now()).toBe(false)
    await tick()
    expect(sole.now()).toBe(true)
    expect(looks.mock.calls.length).toBe(5) // two failed, the first good one, after distrust(), after 10 s
  })
})
