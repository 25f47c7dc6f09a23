import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, serdes } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

describe('kafka consumer close', () => {
  it("ends within the consumer's closeTimeoutMs while a handler never settles: a TimeoutError, the record uncommitted", async () => {
    const topic = defineTopic(unique('close-stuck'), { partitions: 1, value: serdes.json<{ n: number }>() })
    const group = unique('close-stuck')
    const client = createClient({ backend: testKafka() })
    let called = 0
    try {
      await client.producer().send(topic, { key: 'k', value: { n: 1 } })
      const consumer = client.consumer({ groupId: group, closeTimeoutMs: 1000 })
      await consumer.subscribe(
        topic,
        () => {
          called++
          return new Promise<void>(() => {})
        },
        { fromBeginning: true },
      )
      await waitFor('the handler to start', 20_000, () => called === 1)
      const started = Date.now()
      const outcome = await consumer.close().then(
        () => 'resolved',
        (e: unknown) => e,
      )
      expect(isKeyedError(outcome, 'TIMEOUT')).toBe(true)
      expect((outcome as Error).message).toContain(`${topic.name}[0]@0`)
      // 800 ms for the handler (closeTimeoutMs less a fifth to commit and leave), then leaving (at most 5000 ms).
      expect(Date.now() - started).toBeLessThan(6000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(700)
    } finally {
      await client.close().catch(() => undefined)
    }
    // The abandoned record was not committed: the group's next member gets it.
    const again = createClient({ backend: testKafka() })
    const seen: number[] = []
    try {
      await again
        .consumer({ groupId: group })
        .subscribe(topic, (m) => void seen.push(m.value.n), { fromBeginning: true })
      await waitFor('the record again', 20_000, () => seen.length === 1)
    } finally {
      await again.close()
    }
  })

  it("waits out the consumer's closeTimeoutMs, not a shorter kafka({ closeTimeoutMs }), and commits the record", async () => {
    const topic = defineTopic(unique('close-slow'), { partitions: 1, value: serdes.json<{ n: number }>() })
    const group = unique('close-slow')
    const client = createClient({ backend: testKafka({ closeTimeoutMs: 500 }) })
    let called = 0
    let finished = 0
    try {
      await client.producer().send(topic, { key: 'k', value: { n: 1 } })
      const consumer = client.consumer({ groupId: group, closeTimeoutMs: 8000 })
      await consumer.subscribe(
        topic,
        async () => {
          called++
          await new Promise((r) => setTimeout(r, 2500))
          finished++
        },
        { fromBeginning: true },
      )
      await waitFor('the handler to start', 20_000, () => called === 1)
      await consumer.close()
      expect(finished).toBe(1)
    } finally {
      await client.close()
    }
    // Committed before the close resolved: the group's next member starts after it.
    const again = createClient({ backend: testKafka() })
    const seen: number[] = []
    try {
      await again.producer().send(topic, { key: 'k', value: { n: 2 } })
      await again
        .consumer({ groupId: group })
        .subscribe(topic, (m) => void seen.push(m.value.n), { fromBeginning: true })
      await waitFor('the next record', 20_000, () => seen.length >= 1)
      expect(seen).toEqual([2])
    } finally {
      await again.close()
    }
  })
})
