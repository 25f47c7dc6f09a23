import { expect } from 'vitest'
import type { Message } from '../../consumer.js'
import { partitionFor } from '../../murmur2.js'
import { defineTopic } from '../../topic.js'
import { keyWatch, missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** Several members of one group: per-key order, one owner per partition, hand-overs. */
export const groupCases: readonly ConformanceCase[] = [
  {
    name: 'keeps per-key order and loses nothing with many keys over many partitions and several members',
    async run(h) {
      const topic = defineTopic(unique('order'), { partitions: 8, value: orderSchema })
      const group = unique('group')
      const events: Handled[] = []
      const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`)
      const perKey = 25
      const members = await Promise.all([0, 1, 2].map(() => h.client()))
      for (const [i, c] of members.entries()) {
        await c.consumer(h.consumerOptions(group)).subscribe(topic, async (m) => {
          expect(m.partition).toBe(partitionFor(m.key, 8))
          events.push({ member: `m${i}`, key: m.key, seq: m.value.seq, partition: m.partition })
          if (m.value.seq % 7 === 0) await sleep(1)
        })
      }
      const producer = (await h.client()).producer()
      for (let s = 0; s < perKey; s++) {
        const meta = await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
        for (const [i, m] of meta.entries()) expect(m.partition).toBe(partitionFor(keys[i]!, 8))
      }
      await waitFor('every record', h.timeoutMs, () => missing(events, keys, perKey).length === 0)
      expect(orderViolations(events)).toEqual([])
      // A settled group hands each record to one member once, and each partition to one member.
      expect(events).toHaveLength(keys.length * perKey)
      const owners = new Map<number, Set<string>>()
      for (const e of events) owners.set(e.partition, (owners.get(e.partition) ?? new Set()).add(e.member))
      for (const [p, who] of owners) expect(who.size, `partition ${p} owners`).toBe(1)
      expect(new Set(events.map((e) => e.member)).size).toBeGreaterThan(1)
    },
  },
  {
    name: 'hands partitions over when members join and leave under load, one member per partition at a time',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('rebalance'), { partitions: 6, value: orderSchema })
      const group = unique('group')
      const keys = Array.from({ length: 24 }, (_, i) => `acct-${i}`)
      const events: Handled[] = []
      const busy = new Map<number, string>()
      const overlaps: string[] = []
      const handler = (member: string) => async (m: Message<typeof topic>) => {
        const holder = busy.get(m.partition)
        if (holder !== undefined && holder !== member)
          overlaps.push(`partition ${m.partition}: ${member} while ${holder}`)
        busy.set(m.partition, member)
        events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
        await sleep(m.value.seq % 3 === 0 ? 2 : 0)
        busy.delete(m.partition)
      }
      const join = async (name: string) => {
        const client = await h.client()
        await client.consumer(h.consumerOptions(group)).subscribe(topic, handler(name), { fromBeginning: true })
        return client
      }
      const producer = (await h.client()).producer()
      const a = await join('a')
      // Load runs until the last member took partitions, however long joins take on this backend.
      let rounds = 0
      let stop = false
      const load = (async () => {
        while (!stop || rounds < 10) {
          await producer.send(
            topic,
            keys.map((key) => ({ key, value: { seq: rounds } })),
          )
          rounds++
          await sleep(10)
        }
      })()
      await waitFor('a to handle records', t, () => events.length > 50)
      await join('b')
      await waitFor('b to take partitions', t, () => events.some((e) => e.member === 'b'))
      await a.close()
      const afterClose = events.length
      await join('c')
      await waitFor('c to take partitions', t, () => events.some((e) => e.member === 'c'))
      stop = true
      await load
      await waitFor('every record after the rebalances', t * 2, () => missing(events, keys, rounds).length === 0)
      expect(overlaps).toEqual([])
      expect(orderViolations(events)).toEqual([])
      // A member that closed handles nothing more.
      expect(events.slice(afterClose).filter((e) => e.member === 'a')).toEqual([])
    },
  },
  {
    name: 'a member that wakes up after being expelled handles nothing more',
    timeoutFactor: 8,
    async run(h) {
      const topic = defineTopic(unique('expelled'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const count = 20
      // Kafka's brokers accept no shorter session; a whole batch reaches the handler in one piece.
      const membership = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxBatchSize: 100 }
      await (await h.client()).producer().send(
        topic,
        Array.from({ length: count }, (_, seq) => ({ key: `k${seq}`, value: { seq } })),
      )
      let release = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      const byA: number[] = []
      const byB: number[] = []
      await (await h.client()).consumer(h.consumerOptions(group, membership)).subscribe(
        topic,
        async (m) => {
          byA.push(m.value.seq)
          // Stuck like a frozen process: no commit, no progress, past the session timeout.
          if (m.value.seq === 0) await gate
        },
        { fromBeginning: true },
      )
      await waitFor('a to start its first record', h.timeoutMs, () => byA.length > 0)
      await (
        await h.client()
      )
        .consumer(h.consumerOptions(group, membership))
        .subscribe(topic, (m) => void byB.push(m.value.seq), { fromBeginning: true })
      // A backend that expels the stuck member gives b the partition; one that keeps it (while the process lives) does not.
      for (const until = Date.now() + 3 * membership.sessionTimeoutMs; byB.length < count && Date.now() < until;)
        await sleep(50)
      release()
      await waitFor('every record', h.timeoutMs, () => new Set([...byA, ...byB]).size === count)
      // Time for a woken member to go on with the batch it held.
      await sleep(2000)
      // Only the record in flight when it was expelled may have been handled by both (at-least-once).
      expect(byA.filter((seq) => seq !== 0 && byB.includes(seq))).toEqual([])
      expect(byA.slice(0, 1)).toEqual([0])
    },
  },
  {
    name: 'a rebalance with records in flight (concurrency > 1) never has one key handled by two members at once',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('inflight-rebalance'), { partitions: 4, value: orderSchema })
      const group = unique('group')
      const keys = Array.from({ length: 40 }, (_, i) => `k-${i}`)
      const events: Handled[] = []
      const watch = keyWatch()
      // Slow handlers keep many records of a's partitions running while b joins and takes some of them.
      const join = async (member: string) => {
        const client = await h.client()
        await client.consumer(h.consumerOptions(group, { concurrency: 16 })).subscribe(
          topic,
          (m: Message<typeof topic>) =>
            watch.around(member, m.key, async () => {
              events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
              await sleep(10 + (m.value.seq % 4) * 10)
            }),
          { fromBeginning: true },
        )
      }
      const producer = (await h.client()).producer()
      await join('a')
      let rounds = 0
      let stop = false
      const load = (async () => {
        while (!stop || rounds < 6) {
          await producer.send(
            topic,
            keys.map((key) => ({ key, value: { seq: rounds } })),
          )
          rounds++
          await sleep(20)
        }
      })()
      await waitFor('a to have records in flight', t, () => events.length > 40 && watch.inFlight() > 4)
      await join('b')
      await waitFor('b to take partitions', t * 2, () => events.some((e) => e.member === 'b'))
      // The hand-over is done once b handles records; a little more load runs across the new assignment.
      stop = true
      await load
      await waitFor('every record', t * 2, () => missing(events, keys, rounds).length === 0)
      expect(watch.overlaps).toEqual([])
      expect(orderViolations(events)).toEqual([])
      expect(watch.peak()).toBeGreaterThan(4)
    },
  },
]
