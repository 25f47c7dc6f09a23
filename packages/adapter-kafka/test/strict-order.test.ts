import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, partitionFor, serdes } from '@keyed/sdk'
import { missing, orderViolations, unique, waitFor, type Handled } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

type Seq = { key: string; seq: number }

/** Each key's records read exactly once, in order: nothing missing, no swap, and no more records than were sent. */
function expectExactlyInOrder(events: readonly Handled[], keys: readonly string[], perKey: number): void {
  expect(missing(events, keys, perKey)).toEqual([])
  expect(orderViolations(events)).toEqual([])
  expect(events).toHaveLength(keys.length * perKey)
}

async function readBack(topicName: string, partitions: number, expected: number): Promise<Handled[]> {
  const topic = defineTopic(topicName, { partitions, value: serdes.json<Seq>() })
  const client = createClient({ backend: testKafka() })
  const events: Handled[] = []
  try {
    await client.consumer({ groupId: unique('reader') }).subscribe(
      topic,
      (m) => {
        expect(m.partition).toBe(partitionFor(m.key, partitions))
        events.push({ member: 'r', key: m.key, seq: m.value.seq, partition: m.partition })
      },
      { fromBeginning: true },
    )
    await waitFor(`${expected} records`, 30_000, () => events.length >= expected)
  } finally {
    await client.close()
  }
  return events
}

describe('kafka strict producer', () => {
  it('keeps per-key order with no loss or duplicates when send is called concurrently', async () => {
    const topic = defineTopic(unique('strict'), { partitions: 6, value: serdes.json<Seq>() })
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
    const perKey = 40
    const client = createClient({ backend: testKafka() })
    try {
      const producer = client.producer({ ordering: 'strict' })
      // Every send is started before any finished: 480 calls in flight on one idempotent producer.
      const calls: Promise<{ partition: number; offset: string }>[] = []
      for (let seq = 0; seq < perKey; seq++)
        for (const key of keys) calls.push(producer.send(topic, { key, value: { key, seq } }))
      const metadata = await Promise.all(calls)
      const offsets = new Map<string, bigint[]>()
      metadata.forEach((m, i) => {
        const key = keys[i % keys.length]!
        offsets.set(key, [...(offsets.get(key) ?? []), BigInt(m.offset)])
      })
      for (const [key, list] of offsets)
        expect(list, key).toEqual([...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    } finally {
      await client.close()
    }
    const events = await readBack(topic.name, 6, keys.length * perKey)
    expectExactlyInOrder(events, keys, perKey)
  })

  it('serializes concurrent calls on an idempotent backend producer itself, even below the SDK', async () => {
    const name = unique('strict-backend')
    const keys = ['a', 'b', 'c', 'd', 'e']
    const rounds = 60
    const backend = testKafka()
    const client = createClient({ backend })
    try {
      await client.admin().ensureTopics([defineTopic(name, { partitions: 3 })])
      const producer = backend.producer({
        idempotent: true,
        acks: 'all',
        maxInFlight: 5,
        retries: 5,
        clientId: undefined,
      })
      const encode = (v: Seq) => new TextEncoder().encode(JSON.stringify(v))
      const calls = []
      for (let seq = 0; seq < rounds; seq++) {
        calls.push(
          producer.send(
            keys.map((key) => ({
              topic: name,
              partition: partitionFor(key, 3),
              key: new TextEncoder().encode(key),
              value: encode({ key, seq }),
              headers: {},
              timestamp: Date.now(),
            })),
          ),
        )
      }
      await Promise.all(calls)
      await producer.close()
    } finally {
      await client.close()
    }
    const events = await readBack(name, 3, keys.length * rounds)
    expectExactlyInOrder(events, keys, rounds)
  })
})
