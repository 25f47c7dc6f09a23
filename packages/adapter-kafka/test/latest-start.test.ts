import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

const member = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 }
const records = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k-${i}`, value: i }))

// A new group without fromBeginning starts at each partition's end as of when it first took the partition, and commits
// that start: a member that takes the partition later goes on from there. On the cooperative transport a second
// member's subscribe() resolves after the first round, holding nothing yet; its partitions come a round later (~1 s).
describe('kafka: a new group without fromBeginning', () => {
  it('handles every record sent once two members subscribed, whichever member takes a partition', async () => {
    const client = createClient({ backend: testKafka() })
    try {
      const topic = defineTopic(unique('latest-two'), { partitions: 6, value: serdes.json<number>() })
      await client.admin().ensureTopics([topic])
      const group = unique('latest-two')
      const seen = new Set<number>()
      for (const _ of [1, 2])
        await client.consumer({ groupId: group, ...member }).subscribe(topic, (m) => void seen.add(m.value))
      await client.producer().send(topic, records(60))
      await waitFor('all 60 records', 20_000, () => seen.size === 60)
    } finally {
      await client.close()
    }
  })

  it('commits its start at once: a member taking the partitions later handles what was sent meanwhile', async () => {
    const client = createClient({ backend: testKafka() })
    try {
      const topic = defineTopic(unique('latest-later'), { partitions: 6, value: serdes.json<number>() })
      await client.admin().ensureTopics([topic])
      const group = unique('latest-later')
      const a = client.consumer({ groupId: group, ...member })
      await a.subscribe(topic, () => undefined)
      a.pause(topic)
      expect((await a.lag()).partitions.map((p) => p.committed)).toEqual(Array(6).fill('0'))
      await client.producer().send(topic, records(60))
      const b = client.consumer({ groupId: group, ...member })
      const seen = new Set<number>()
      await b.subscribe(topic, (m) => void seen.add(m.value))
      await a.close()
      await waitFor('all 60 records on the second member', 20_000, () => seen.size === 60)
    } finally {
      await client.close()
    }
  })
})
