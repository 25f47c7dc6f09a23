import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

describe('kafka consumer close', () => {
  it('ends within closeTimeoutMs plus the leave bound while a handler never settles, and leaves the record uncommitted', async () => {
    const topic = defineTopic(unique('close-stuck'), { partitions: 1, value: serdes.json<{ n: number }>() })
    const group = unique('close-stuck')
    const client = createClient({ backend: testKafka({ closeTimeoutMs: 1000 }) })
    let called = 0
    try {
      await client.producer().send(topic, { key: 'k', value: { n: 1 } })
      const consumer = client.consumer({ groupId: group })
      await consumer.subscribe(topic, () => {
        called++
        return new Promise<void>(() => {})
      }, { fromBeginning: true })
      await waitFor('the handler to start', 20_000, () => called === 1)
      const started = Date.now()
      await consumer.close()
      // 1000 ms for the handler, then leaving the group (at most 5000 ms): on a live broker it takes far less.
      expect(Date.now() - started).toBeLessThan(6000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    } finally {
      await client.close()
    }
    // The abandoned record was not committed: the group's next member gets it.
    const again = createClient({ backend: testKafka() })
    const seen: number[] = []
    try {
      await again.consumer({ groupId: group }).subscribe(topic, (m) => void seen.push(m.value.n), { fromBeginning: true })
      await waitFor('the record again', 20_000, () => seen.length === 1)
    } finally {
      await again.close()
    }
  })
})
