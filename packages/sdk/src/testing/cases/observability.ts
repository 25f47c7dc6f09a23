import { expect } from 'vitest'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'

/** What an operator sees of a group: its lag. */
export const observabilityCases: readonly ConformanceCase[] = [
  {
    name: 'consumer.lag() and admin().lag() report the committed position, end and lag per partition',
    needs: ['lag'],
    async run(h) {
      const topic = defineTopic(unique('lag'), { partitions: 2 })
      const group = unique('group')
      const client = await h.client()
      const producer = client.producer()
      await producer.send(
        topic,
        [0, 1, 2].map((i) => ({ key: `k${i}`, value: i, partition: 0 })),
      )
      await producer.send(topic, { key: 'k', value: 9, partition: 1 })
      let handled = 0
      const consumer = client.consumer(h.consumerOptions(group))
      await consumer.subscribe(topic, () => void handled++, { fromBeginning: true })
      await waitFor('4 records handled', h.timeoutMs, () => handled === 4)
      await waitFor('both partitions committed with no lag', h.timeoutMs, async () => {
        const lag = await consumer.lag()
        return lag.total === 0 && lag.partitions.every((p) => p.committed !== undefined)
      })
      await consumer.close()
      await producer.send(
        topic,
        [3, 4].map((i) => ({ key: `k${i}`, value: i, partition: 0 })),
      )

      const lag = await client.admin().lag(group, topic)
      expect(lag.groupId).toBe(group)
      expect(lag.total).toBe(2)
      const byPartition = new Map(lag.partitions.map((p) => [p.partition, p]))
      expect([...byPartition.keys()].sort()).toEqual([0, 1])
      expect(byPartition.get(0)).toMatchObject({ topic: topic.name, lag: 2 })
      expect(byPartition.get(1)).toMatchObject({ topic: topic.name, lag: 0 })
      expect(byPartition.get(0)!.committed).not.toBe(byPartition.get(0)!.end)

      // A group that never committed: no position, and its lag is every record still there.
      const fresh = await client.admin().lag(unique('never'), topic.name)
      expect(fresh.partitions.map((p) => [p.partition, p.committed, p.lag]).sort()).toEqual([
        [0, undefined, 5],
        [1, undefined, 1],
      ])
      expect(fresh.total).toBe(6)
    },
  },
]
