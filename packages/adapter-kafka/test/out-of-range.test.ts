import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'
import { rawAdmin } from './support/raw.js'

describe('kafka: a committed position retention removed', () => {
  it('goes on from the partition start instead of stopping the consumer', async () => {
    const topic = defineTopic(unique('out-of-range'), { partitions: 1, value: serdes.json<{ seq: number }>() })
    const group = unique('out-of-range')
    const client = createClient({ backend: testKafka() })
    const admin = await rawAdmin()
    try {
      await client.producer().send(
        topic,
        Array.from({ length: 10 }, (_, seq) => ({ key: 'k', value: { seq } })),
      )
      // The group commits after record 2, so its position is 3.
      const first = client.consumer({ groupId: group, autoCommit: false })
      let seen = 0
      await first.subscribe(
        topic,
        async (m) => {
          if (++seen === 3) await first.commit(m)
        },
        { fromBeginning: true },
      )
      await waitFor('three records', 30_000, () => seen >= 3)
      await first.close()
      // Retention (here deleteRecords) removes offsets 0-7: the committed position 3 no longer exists.
      await admin.fetchTopicMetadata({ topics: [topic.name] })
      await admin.deleteTopicRecords({ topic: topic.name, partitions: [{ partition: 0, offset: '8' }] })
      const seqs: number[] = []
      const errors: unknown[] = []
      const second = client.consumer({ groupId: group, onError: (e) => void errors.push(e) })
      await second.subscribe(topic, (m) => void seqs.push(m.value.seq), { fromBeginning: true })
      await waitFor('the records left', 30_000, () => seqs.length >= 2 || errors.length > 0)
      expect(errors).toEqual([])
      expect(seqs).toEqual([8, 9])
    } finally {
      await admin.disconnect()
      await client.close()
    }
  })
})
