import { expect } from 'vitest'
import type { Message } from '../../consumer.js'
import { serdes } from '../../serdes.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { lastOffsets, orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** What the backend's cleaner removes, and what it must keep. */
export const retentionCases: readonly ConformanceCase[] = [
  {
    name: 'compacts: the latest value per key survives, and tombstones go after the delete retention',
    needs: ['compaction'],
    timeoutFactor: 12,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('compact'), {
        partitions: 2,
        cleanupPolicy: 'compact',
        deleteRetentionMs: 500,
        minCompactionLagMs: 0,
        value: serdes.json<{ theme: string }>(),
        config: { ...h.options.compactionConfig },
      })
      const client = await h.client()
      const producer = client.producer()
      const live: Message<typeof topic>[] = []
      await client
        .consumer(h.consumerOptions(unique('live')))
        .subscribe(topic, (m) => void live.push(m), { fromBeginning: true })
      const written = [
        ...(await producer.send(topic, [
          { key: 'user-1', value: { theme: 'dark' } },
          { key: 'user-2', value: { theme: 'light' } },
          { key: 'user-1', value: { theme: 'blue' } },
          { key: 'user-3', value: { theme: 'red' } },
        ])),
        await producer.tombstone(topic, 'user-3'),
      ]
      await waitFor('the tombstone to reach a live consumer', t, () =>
        live.some((m) => m.key === 'user-3' && m.value === null),
      )
      let seen: Message<typeof topic>[] = []
      await waitFor('compaction and tombstone removal', t * 4, async () => {
        // Kafka never cleans the active segment: a later append after segment.ms rolls it.
        await sleep(300)
        const flush = await producer.send(
          topic,
          [0, 1].map((p) => ({ key: `flush-${p}`, value: { theme: 'none' }, partition: p })),
        )
        seen = (await h.readAll(topic, lastOffsets(flush))).filter((m) => !m.key.startsWith('flush-'))
        return seen.length === 2
      })
      const latest = Object.fromEntries(seen.map((m) => [m.key, m.value?.theme]))
      expect(latest).toEqual({ 'user-1': 'blue', 'user-2': 'light' })
      // Compaction removes records but never renumbers the survivors.
      const blue = seen.find((m) => m.key === 'user-1')!
      expect(blue.offset).toBe(written[2]!.offset)
    },
  },
  {
    name: 'removes records past the time retention',
    needs: ['timeRetention'],
    timeoutFactor: 12,
    async run(h) {
      const topic = defineTopic(unique('retention'), {
        partitions: 1,
        retentionMs: 1500,
        value: orderSchema,
        config: { ...h.options.compactionConfig },
      })
      const producer = (await h.client()).producer()
      await producer.send(
        topic,
        [0, 1, 2].map((s) => ({ key: 'k', value: { seq: s } })),
      )
      await sleep(2000)
      let seen: number[] = []
      await waitFor('the old records to expire', h.timeoutMs * 4, async () => {
        const fresh = await producer.send(topic, { key: 'k', value: { seq: 100 } })
        seen = (await h.readAll(topic, lastOffsets([fresh]))).map((m) => m.value.seq)
        return !seen.includes(0)
      })
      expect(seen.filter((s) => s < 100)).toEqual([])
    },
  },
]
