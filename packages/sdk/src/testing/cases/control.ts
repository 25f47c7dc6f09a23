import { expect } from 'vitest'
import type { TopicPartition } from '../../backend/contract.js'
import type { Consumer } from '../../consumer.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'

const tpName = (tp: TopicPartition) => `${tp.topic}[${tp.partition}]`

/**
 * Who holds which partition as the members' onPartitionsAssigned/onPartitionsRevoked callbacks tell it: a partition
 * assigned while another member holds it, or revoked by one that does not, is a violation.
 */
function holders() {
  const holder = new Map<string, string>()
  const violations: string[] = []
  const revokedBy = new Map<string, string[]>()
  return {
    violations,
    revokedBy,
    holderOf: (tp: TopicPartition) => holder.get(tpName(tp)),
    callbacks(member: string) {
      return {
        onPartitionsAssigned: (partitions: readonly TopicPartition[]) => {
          for (const tp of partitions) {
            const now = holder.get(tpName(tp))
            if (now !== undefined && now !== member)
              violations.push(`${tpName(tp)} assigned to ${member} while ${now} holds it`)
            holder.set(tpName(tp), member)
          }
        },
        onPartitionsRevoked: (partitions: readonly TopicPartition[]) => {
          for (const tp of partitions) {
            const now = holder.get(tpName(tp))
            if (now !== member)
              violations.push(`${tpName(tp)} revoked from ${member} while ${now ?? 'nobody'} holds it`)
            else holder.delete(tpName(tp))
            revokedBy.set(member, [...(revokedBy.get(member) ?? []), tpName(tp)])
          }
        },
      }
    },
  }
}

const owned = (c: Consumer) => c.assignment().map(tpName)

/** Partition ownership as members see it, pause and resume, seek, and resetting a group's offsets. */
export const controlCases: readonly ConformanceCase[] = [
  {
    name: 'assignment callbacks: each partition is assigned to one member at a time, and revoked ones are reported',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('assign'), { partitions: 4, value: orderSchema })
      const group = unique('group')
      const who = holders()
      const outside: string[] = []
      const member = async (name: string) => {
        const consumer = (await h.client()).consumer(h.consumerOptions(group, who.callbacks(name)))
        await consumer.subscribe(
          topic,
          (m) => {
            // A record reaches a handler only for a partition its consumer owns at that moment.
            if (!consumer.assignment().some((tp) => tp.topic === m.topic && tp.partition === m.partition))
              outside.push(`${name} handled ${m.topic}[${m.partition}]@${m.offset} without owning it`)
          },
          { fromBeginning: true },
        )
        return consumer
      }
      const producer = (await h.client()).producer()
      const send = (n: number) =>
        producer.send(
          topic,
          Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { seq: n } })),
        )
      await send(0)
      const a = await member('a')
      await waitFor('a to own the 4 partitions', t, () => owned(a).length === 4)
      const b = await member('b')
      await send(1)
      await waitFor('a and b to split the partitions', t * 2, () => {
        const [ofA, ofB] = [owned(a), owned(b)]
        return ofA.length > 0 && ofB.length > 0 && ofA.length + ofB.length === 4
      })
      expect(owned(a).filter((p) => owned(b).includes(p))).toEqual([])
      // What b owns was reported revoked by a first.
      for (const p of owned(b)) expect(who.revokedBy.get('a') ?? []).toContain(p)
      await a.close()
      expect(a.assignment()).toEqual([])
      await waitFor('b to own the 4 partitions', t * 2, () => owned(b).length === 4)
      await send(2)
      expect(who.violations).toEqual([])
      expect(outside).toEqual([])
      expect(b.assignment()).toEqual([0, 1, 2, 3].map((partition) => ({ topic: topic.name, partition })))
      for (const tp of b.assignment()) expect(who.holderOf(tp)).toBe('b')
    },
  },
]
