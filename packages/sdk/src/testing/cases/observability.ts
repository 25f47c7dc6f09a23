import { expect } from 'vitest'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'

/** What an operator sees of a group: its lag and its lifecycle events. */
export const observabilityCases: readonly ConformanceCase[] = [
  {
    name: "lifecycle events: 'joined', 'assigned', 'committed' up to the last record, 'revoked' and 'stopped' on close",
    async run(h) {
      const topic = defineTopic(unique('events'), { partitions: 2 })
      const group = unique('group')
      const logged: string[] = []
      const quiet = () => {}
      const logger = {
        debug: quiet,
        info: quiet,
        warn: quiet,
        error: (_: object, msg?: string) => void logged.push(msg ?? ''),
      }
      const client = await h.client({ logger })
      const producer = client.producer()
      await producer.send(
        topic,
        [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: i, partition: i % 2 })),
      )
      const consumer = client.consumer(h.consumerOptions(group))
      const seen: string[] = []
      const committed = new Map<number, string>()
      const assigned = new Set<number>()
      const revoked = new Set<number>()
      let stopped: { error: unknown } | undefined
      consumer.on('joined', (e) => void seen.push(`joined ${e.groupId} ${e.topics.join(',')}`))
      consumer.on('assigned', (e) => e.partitions.forEach((p) => assigned.add(p.partition)))
      consumer.on('revoked', (e) => e.partitions.forEach((p) => revoked.add(p.partition)))
      consumer.on('committed', (e) => e.offsets.forEach((o) => committed.set(o.partition, o.offset)))
      consumer.on('stopped', (e) => void (stopped = { error: e.error }))
      // A listener that throws is logged and changes nothing.
      consumer.on('committed', () => {
        throw new Error('a listener that throws')
      })
      const last = new Map<number, string>()
      await consumer.subscribe(topic, (m) => void last.set(m.partition, m.offset), { fromBeginning: true })
      expect(seen).toEqual([`joined ${group} ${topic.name}`])
      await waitFor('both partitions committed up to their last record', h.timeoutMs, () =>
        [0, 1].every((p) => last.has(p) && committed.get(p) === last.get(p)),
      )
      expect([...assigned].sort()).toEqual([0, 1])
      await consumer.close()
      expect(stopped).toEqual({ error: undefined })
      await waitFor('both partitions revoked', h.timeoutMs, () => revoked.size === 2)
      expect(logged[0]).toBe(`consumer '${group}': a 'committed' listener threw`)
    },
  },
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
