import { expect } from 'vitest'
import { DEAD_LETTER_HEADERS } from '../../consumer.js'
import { HandlerError } from '../../errors.js'
import { serdes } from '../../serdes.js'
import { defineTopic } from '../../topic.js'
import { missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

/** Offsets of one partition in order: integers (Kafka, memory) or stream ids `ms-seq` (Redis). */
function offsetBefore(a: string, b: string): boolean {
  const [a1, a2 = 0n] = a.split('-').map(BigInt)
  const [b1, b2 = 0n] = b.split('-').map(BigInt)
  return a1! < b1! || (a1 === b1 && a2 < b2)
}

/** Batch handlers (subscribeBatch): what a batch holds, when it is committed, and what a failure does to it. */
export const batchCases: readonly ConformanceCase[] = [
  {
    name: 'a batch handler gets up to maxBatchSize records of one partition in offset order, committed after it resolves',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('batch'), { partitions: 3, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const keys = ['a', 'b', 'c', 'd', 'e', 'f']
      for (let s = 0; s < 8; s++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq: s } })),
        )
      const handled: Handled[] = []
      const problems: string[] = []
      const c1 = await h.client()
      await c1.consumer(h.consumerOptions(group)).subscribeBatch(
        topic,
        async (batch) => {
          const { messages } = batch
          if (messages.length < 1 || messages.length > 5) problems.push(`a batch of ${messages.length}`)
          for (const m of messages) {
            if (m.partition !== batch.partition || m.topic !== topic.name)
              problems.push(`${m.offset} of another partition`)
            handled.push({ member: '1', key: m.key, seq: m.value.seq, partition: m.partition })
          }
          if (messages.some((m, i) => i > 0 && !offsetBefore(messages[i - 1]!.offset, m.offset)))
            problems.push('offsets out of order')
          await sleep(1)
        },
        { fromBeginning: true, maxBatchSize: 5 },
      )
      await waitFor('every record in batches', t, () => missing(handled, keys, 8).length === 0)
      await c1.close()
      expect(problems).toEqual([])
      expect(handled).toHaveLength(48)
      expect(orderViolations(handled)).toEqual([])

      // Every batch was committed: a new member of the group gets only records sent after.
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { seq: 8 } })),
      )
      const after: number[] = []
      const c2 = await h.client()
      await c2
        .consumer(h.consumerOptions(group))
        .subscribeBatch(topic, (batch) => void after.push(...batch.messages.map((m) => m.value.seq)), {
          fromBeginning: true,
        })
      await waitFor('the new records', t, () => after.length >= 6)
      await sleep(200)
      expect(after).toEqual(Array(6).fill(8))
    },
  },
  {
    name: 'a batch handler that commits a prefix and then fails: the prefix stays committed, only the rest is retried, and the group resumes right after the prefix',
    async run(h) {
      const t = h.timeoutMs
      const topic = defineTopic(unique('batch-prefix'), { partitions: 1, value: orderSchema })
      const group = unique('group')
      const producer = (await h.client()).producer()
      const sent = await producer.send(
        topic,
        Array.from({ length: 10 }, (_, s) => ({ key: 'k', value: { seq: s } })),
      )
      const calls: Array<{ attempt: number; seqs: number[] }> = []
      const c1 = await h.client()
      const consumer = c1.consumer(
        h.consumerOptions(group, { retry: { attempts: 3, initialBackoffMs: 5 }, onError: () => {} }),
      )
      const stopped = consumer.stopped()
      await consumer.subscribeBatch(
        topic,
        async (batch) => {
          const seqs = batch.messages.map((m) => m.value.seq)
          calls.push({ attempt: batch.attempt, seqs })
          // The bulk write of seq 0-3 went through; then the database fails on the rest.
          if (batch.attempt === 1) await batch.commit(batch.messages[3]!)
          throw new Error('bulk insert failed')
        },
        { fromBeginning: true, maxBatchSize: 10 },
      )
      const error = await stopped.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(HandlerError)
      expect((error as HandlerError).offset).toBe(sent[4]!.offset)
      expect((error as HandlerError).message).toContain('bulk insert failed')
      const rest = [4, 5, 6, 7, 8, 9]
      expect(calls).toEqual([
        { attempt: 1, seqs: [0, 1, 2, 3, ...rest] },
        { attempt: 2, seqs: rest },
        { attempt: 3, seqs: rest },
      ])

      const resumed: number[] = []
      const c2 = await h.client()
      await c2
        .consumer(h.consumerOptions(group))
        .subscribeBatch(topic, (batch) => void resumed.push(...batch.messages.map((m) => m.value.seq)))
      await waitFor('the records after the prefix', t, () => resumed.length >= 6)
      await sleep(200)
      expect(resumed).toEqual(rest)
    },
  },
  {
    name: "a batch handler's records that do not validate are dead-lettered before it runs, and a batch that keeps failing dead-letters its uncommitted records and goes on",
    async run(h) {
      const t = h.timeoutMs
      const name = unique('batch-dlq')
      const loose = defineTopic(name, { partitions: 1, value: serdes.json<unknown>() })
      const strict = defineTopic(name, { partitions: 1, value: orderSchema })
      const dlq = defineTopic(`${name}.dlq`, { partitions: 1, ordering: 'none', value: serdes.bytes() })
      const producer = (await h.client()).producer()
      const meta = await producer.send(loose, [
        { key: 'k', value: { seq: 0 } },
        { key: 'k', value: { wrong: true } },
        { key: 'k', value: { seq: 2 } },
        { key: 'k', value: { seq: 3 } },
      ])
      const batches: number[][] = []
      let deadBeforeHandler: number | undefined
      const client = await h.client()
      await client
        .consumer(h.consumerOptions(unique('group'), { deadLetter: true, retry: { attempts: 2, initialBackoffMs: 1 } }))
        .subscribeBatch(
          strict,
          async (batch) => {
            const seqs = batch.messages.map((m) => m.value.seq)
            batches.push(seqs)
            if (seqs.includes(0)) {
              deadBeforeHandler ??= (await h.readCount(dlq, 1)).length
              await batch.commit(batch.messages[0]!)
            }
            if (seqs.includes(2)) throw new Error('warehouse unavailable')
          },
          { fromBeginning: true },
        )
      await waitFor('the failed batch to be dead-lettered', t, () => batches.length >= 2)
      await producer.send(strict, { key: 'k', value: { seq: 4 } })
      await waitFor('the record after the dead letters', t, () => batches.some((b) => b.includes(4)))
      expect(deadBeforeHandler).toBe(1)
      expect(batches).toEqual([[0, 2, 3], [2, 3], [4]])
      const dead = await h.readCount(dlq, 3)
      expect(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.offset])).toEqual([
        meta[1]!.offset,
        meta[2]!.offset,
        meta[3]!.offset,
      ])
      expect(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.stage])).toEqual(['validate', 'handler', 'handler'])
      expect(dead[1]!.headers[DEAD_LETTER_HEADERS.error]).toContain('warehouse unavailable')
      expect(dead[1]!.headers[DEAD_LETTER_HEADERS.attempts]).toBe('2')
    },
  },
]
