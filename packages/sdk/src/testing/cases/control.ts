import { expect } from 'vitest'
import type { TopicPartition } from '../../backend/contract.js'
import type { Consumer, Message } from '../../consumer.js'
import { ConfigError, GroupInUseError, NotAssignedError } from '../../errors.js'
import { partitionFor } from '../../murmur2.js'
import { defineTopic } from '../../topic.js'
import { missing, orderViolations, type Handled } from '../accounting.js'
import type { ConformanceCase } from '../case.js'
import { orderSchema } from '../fixtures.js'
import { unique, type Harness } from '../harness.js'
import { sleep, waitFor } from '../wait.js'

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

/** What each member owns, as its callbacks tell it. */
export const assignmentCases: readonly ConformanceCase[] = [
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

/**
 * With per-key concurrency one key is slow while the others finish past it; a pause (from a handler or from app code)
 * cuts the batch there. After resume every record is handled exactly once, in order per key, and the partition goes on:
 * those that finished past the slow key's record are not read again.
 */
function pauseWhileSlow(from: 'handler' | 'outside'): ConformanceCase {
  return {
    name: `pause ${from === 'handler' ? 'from a handler' : 'from app code'} with concurrency 8 while a key is slow: after resume every record once, in order, no stall`,
    timeoutFactor: 4,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic(`pause-slow-${from}`, 1)
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`)
      const perKey = 5
      await produce(h, topic, keys, 0, keys.length * perKey)
      const events: Handled[] = []
      const consumer = (await h.client()).consumer(
        h.consumerOptions(unique('group'), { concurrency: 8, maxBatchSize: 100 }),
      )
      let slowDone = false
      await consumer.subscribe(
        topic,
        async (m) => {
          events.push({ member: 'c', key: m.key, seq: m.value.seq, partition: m.partition })
          if (m.key === 'k0' && m.value.seq === 0) {
            await waitFor('the other keys to get ahead', t, () => events.length >= 12)
            slowDone = true
          } else if (from === 'handler' && m.key === 'k4' && m.value.seq === 1) consumer.pause(topic)
          await sleep(2)
        },
        { fromBeginning: true },
      )
      if (from === 'outside') {
        await waitFor('other keys to finish past the slow one', t, () => events.length >= 12)
        consumer.pause(topic)
      }
      await waitFor('the slow record to finish', t, () => slowDone)
      await sleep(200)
      expect(consumer.paused()).toEqual([{ topic: topic.name, partition: 0 }])
      consumer.resume(topic)
      await waitFor('every record after resume', t, () => missing(events, keys, perKey).length === 0)
      await sleep(300)
      expect(orderViolations(events)).toEqual([])
      expect(events).toHaveLength(keys.length * perKey)
      expect(consumer.paused()).toEqual([])
      await waitFor('lag 0', t, async () => (await consumer.lag()).total === 0)
    },
  }
}

/** `count` records over `keys` keys, seq per key from `from`; returns their metadata. */
async function produce(h: Harness, topic: SeqTopic, keys: readonly string[], from: number, count: number) {
  const producer = (await h.client()).producer()
  return producer.send(
    topic,
    Array.from({ length: count }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: { seq: from + Math.floor(i / keys.length) },
    })),
  )
}

type SeqTopic = ReturnType<typeof seqTopic>
const seqTopic = (name: string, partitions: number) => defineTopic(unique(name), { partitions, value: orderSchema })

/** A new member of the group, after one record more (seq), hands over that record and nothing before it. */
async function resumesWith(h: Harness, topic: SeqTopic, group: string, seq: number): Promise<void> {
  const again = recorder('again')
  await (await h.client()).consumer(h.consumerOptions(group)).subscribe(topic, again.handler, { fromBeginning: true })
  await produce(h, topic, ['k'], seq, 1)
  await waitFor('the new record', h.timeoutMs, () => again.events.length >= 1)
  await sleep(200)
  expect(again.events.map((e) => e.seq)).toEqual([seq])
}

/** Records handled by a consumer, as the order and loss checks read them. */
function recorder(member: string) {
  const events: Handled[] = []
  const handler = (m: Message<SeqTopic>) =>
    void events.push({ member, key: m.key, seq: m.value.seq, partition: m.partition })
  return { events, handler }
}

/** Pause and resume, seek, and admin resets of a group's offsets. */
export const pauseSeekCases: readonly ConformanceCase[] = [
  {
    name: 'pause then resume: nothing is handled while paused (past the session timeout, still a member), then everything, in order, once',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('pause', 2)
      const keys = ['a', 'b', 'c', 'd', 'e', 'f']
      const perKey = 30
      // Kafka's brokers accept no shorter session; the pause outlasts it.
      // A partition's records arrive in one batch, so the pause cuts batches in flight (a later record is fetched already).
      const membership = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxBatchSize: 100 }
      await produce(h, topic, keys, 0, keys.length * (perKey / 2))
      const events: Handled[] = []
      const revoked: string[] = []
      const consumer = (await h.client()).consumer(
        h.consumerOptions(unique('group'), {
          ...membership,
          onPartitionsRevoked: (tps) => void revoked.push(...tps.map((tp) => `${tp.partition}`)),
        }),
      )
      await consumer.subscribe(
        topic,
        async (m) => {
          events.push({ member: 'c', key: m.key, seq: m.value.seq, partition: m.partition })
          await sleep(2)
        },
        { fromBeginning: true },
      )
      await waitFor('some records', t, () => events.length >= 10)
      consumer.pause(topic)
      expect(consumer.paused()).toEqual([0, 1].map((partition) => ({ topic: topic.name, partition })))
      // The records in flight (one per partition) finish; then nothing more.
      await sleep(200)
      const atPause = events.length
      await produce(h, topic, keys, perKey / 2, keys.length * (perKey / 2))
      await sleep(membership.sessionTimeoutMs + 1500)
      expect(events.length).toBe(atPause)
      expect(revoked).toEqual([])
      expect(consumer.assignment()).toHaveLength(2)
      consumer.resume(topic)
      expect(consumer.paused()).toEqual([])
      await waitFor('every record after resume', t, () => missing(events, keys, perKey).length === 0)
      await sleep(200)
      expect(orderViolations(events)).toEqual([])
      // A pause cuts a batch where it stands and resumes at its first unfinished record: nothing twice, nothing lost.
      expect(events).toHaveLength(keys.length * perKey)
    },
  },
  pauseWhileSlow('handler'),
  pauseWhileSlow('outside'),
  {
    name: 'pause across a rebalance: partitions kept stay paused, partitions moved are read by their new owner',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('pause-rebalance', 4)
      const group = unique('group')
      const keys = Array.from({ length: 16 }, (_, i) => `k${i}`)
      const a = recorder('a')
      const b = recorder('b')
      const ca = (await h.client()).consumer(h.consumerOptions(group))
      await ca.subscribe(topic, a.handler, { fromBeginning: true })
      await waitFor('a to own the 4 partitions', t, () => ca.assignment().length === 4)
      ca.pause(topic)
      await produce(h, topic, keys, 0, keys.length * 5)
      await sleep(300)
      expect(a.events).toEqual([])
      const cb = (await h.client()).consumer(h.consumerOptions(group))
      await cb.subscribe(topic, b.handler, { fromBeginning: true })
      await waitFor('a and b to split the partitions', t * 2, () => {
        const [ofA, ofB] = [ca.assignment().length, cb.assignment().length]
        return ofA > 0 && ofB > 0 && ofA + ofB === 4
      })
      const ofB = new Set(cb.assignment().map((tp) => tp.partition))
      const keysOfB = keys.filter((k) => ofB.has(partitionFor(k, 4)))
      await waitFor("b to read its partitions' records", t, () => missing(b.events, keysOfB, 5).length === 0)
      await sleep(300)
      // The pause is a's: what a kept is still paused, what moved to b was read there.
      expect(a.events).toEqual([])
      expect(ca.paused()).toHaveLength(4)
      ca.resume(topic)
      await waitFor(
        'a to read the rest after resume',
        t,
        () => missing([...a.events, ...b.events], keys, 5).length === 0,
      )
      expect(a.events.filter((e) => ofB.has(e.partition))).toEqual([])
      expect(orderViolations([...a.events, ...b.events])).toEqual([])
    },
  },
  {
    name: 'seek backwards replays from the offset, from a handler or outside one, and the commit follows the seek',
    timeoutFactor: 6,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('seek', 1)
      const other = seqTopic('seek-other', 1)
      const group = unique('group')
      const meta = await produce(h, topic, ['k'], 0, 10)
      const offsets = meta.map((m) => m.offset)
      const seen: number[] = []
      let soughtFromHandler = false
      const consumer = (await h.client()).consumer(h.consumerOptions(group, { maxBatchSize: 100 }))
      await consumer.subscribe(
        topic,
        (m) => {
          seen.push(m.value.seq)
          // Records 7 to 9 are fetched already: the seek drops them, and 6 is not committed over it.
          if (m.value.seq === 6 && !soughtFromHandler) {
            soughtFromHandler = true
            consumer.seek({ topic, partition: 0, offset: offsets[2]! })
          }
        },
        { fromBeginning: true },
      )
      await waitFor('the replay from the handler', t, () => seen.length >= 14)
      await sleep(200)
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 7, 8, 9])
      consumer.seek({ topic: topic.name, partition: 0, offset: offsets[5]! })
      await waitFor('the replay from outside', t, () => seen.length >= 19)
      await sleep(200)
      expect(seen.slice(15)).toEqual([5, 6, 7, 8, 9])
      // Only owned partitions: a typed error names what this member owns.
      expect(() => consumer.seek({ topic: other, partition: 0, offset: '0' })).toThrow(NotAssignedError)
      await consumer.close()
      // The group resumes after the last record handled from the seek: nothing again.
      await resumesWith(h, topic, group, 10)
    },
  },
  {
    name: 'seek from onPartitionsAssigned starts the partition at that offset',
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('seek-assigned', 1)
      const meta = await produce(h, topic, ['k'], 0, 10)
      const seen: number[] = []
      const client = await h.client()
      const consumer = client.consumer(
        h.consumerOptions(unique('group'), {
          onPartitionsAssigned: (tps) => {
            for (const tp of tps) consumer.seek({ ...tp, offset: meta[6]!.offset })
          },
        }),
      )
      await consumer.subscribe(topic, (m) => void seen.push(m.value.seq), { fromBeginning: true })
      await waitFor('the records from seq 6', t, () => seen.length >= 4)
      await sleep(200)
      expect(seen).toEqual([6, 7, 8, 9])
    },
  },
  {
    name: 'seek past the end goes to the end: every record written after is handled once, none skipped or replayed, and the lag is right',
    timeoutFactor: 6,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('seek-past-end', 1)
      const group = unique('group')
      const warned: Array<Record<string, unknown>> = []
      const quiet = () => {}
      const logger = { debug: quiet, info: quiet, error: quiet, warn: (o: object) => void warned.push({ ...o }) }
      const client = await h.client({ logger })
      const meta = await produce(h, topic, ['k'], 0, 5)
      /** An offset well past the partition's end now: 15 records on (decimal offsets), an hour on (stream ids). */
      const pastEnd = (offset: string) => {
        const dash = offset.indexOf('-')
        return dash < 0 ? String(BigInt(offset) + 15n) : `${BigInt(offset.slice(0, dash)) + 3_600_000n}-0`
      }
      const asked = pastEnd(meta[4]!.offset)
      const seen: number[] = []
      let soughtFromHandler = false
      const consumer = client.consumer(h.consumerOptions(group, { maxBatchSize: 100 }))
      await consumer.subscribe(
        topic,
        (m) => {
          seen.push(m.value.seq)
          // From the handler of the last record: its batch is in flight, and nothing of it is committed over the seek.
          if (m.value.seq === 4 && !soughtFromHandler) {
            soughtFromHandler = true
            consumer.seek({ topic, partition: 0, offset: asked })
          }
        },
        { fromBeginning: true },
      )
      await waitFor('the first records and the seek from the handler', t, () => soughtFromHandler)
      await waitFor('the clamp to be logged', t, () => warned.length >= 1)
      expect(warned[0]).toMatchObject({ topic: topic.name, partition: 0, requested: asked })
      // Written after the seek, below the offset it asked for: every one is handled.
      await produce(h, topic, ['k'], 5, 10)
      await waitFor('the records written after the seek from the handler', t, () => seen.length >= 15)
      // From outside a handler, once idle.
      const outside = pastEnd((await produce(h, topic, ['k'], 15, 1))[0]!.offset)
      await waitFor('record 15', t, () => seen.length >= 16)
      consumer.seek({ topic: topic.name, partition: 0, offset: outside })
      await waitFor('the second clamp to be logged', t, () => warned.length >= 2)
      await produce(h, topic, ['k'], 16, 9)
      await waitFor('the records written after the second seek', t, () => seen.length >= 25)
      await sleep(300)
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i))
      // Committed up to the end: the group has nothing left to read (a seek past the end reported 0 and lost records).
      await waitFor('the lag to reach 0', t, async () => (await consumer.lag()).total === 0)
      expect((await consumer.lag()).partitions.map((p) => p.lag)).toEqual([0])
      await consumer.close()
      // The group resumes after the last record handled: nothing again.
      await resumesWith(h, topic, group, 25)
    },
  },
  {
    name: 'seek to a malformed offset is a ConfigError naming it, and moves nothing',
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('seek-malformed', 1)
      await produce(h, topic, ['k'], 0, 3)
      const seen: number[] = []
      const consumer = (await h.client()).consumer(h.consumerOptions(unique('group')))
      await consumer.subscribe(topic, (m) => void seen.push(m.value.seq), { fromBeginning: true })
      await waitFor('the first records', t, () => seen.length >= 3)
      for (const offset of ['abc', '-5', ' 0', '0 ', '1.5', '1e3', '0x10']) {
        let refused: unknown
        try {
          consumer.seek({ topic, partition: 0, offset })
        } catch (error) {
          refused = error
        }
        expect(refused, `seek to '${offset}'`).toBeInstanceOf(ConfigError)
        expect((refused as ConfigError).code).toBe('CONFIG')
        expect(String((refused as Error).message)).toContain(`'${offset}'`)
      }
      await produce(h, topic, ['k'], 3, 1)
      await waitFor('the next record', t, () => seen.length >= 4)
      await sleep(200)
      expect(seen).toEqual([0, 1, 2, 3])
    },
  },
  {
    name: 'resetOffsets moves a group to earliest, latest, a timestamp or given offsets',
    timeoutFactor: 8,
    async run(h) {
      const t = h.timeoutMs
      const topic = seqTopic('reset', 2)
      const group = unique('group')
      const keys = ['a', 'b', 'c', 'd']
      const admin = (await h.client()).admin()
      /** A member of the group from its committed position: what it reads until `done` holds (and 300 ms more). */
      const readFromGroup = async (what: string, done: (events: readonly Handled[]) => boolean) => {
        const r = recorder('r')
        const client = await h.client()
        await client.consumer(h.consumerOptions(group)).subscribe(topic, r.handler)
        await waitFor(what, t, () => done(r.events))
        await sleep(300)
        await client.close()
        return r.events
      }
      const atLeast = (n: number) => (events: readonly Handled[]) => events.length >= n
      const first = await produce(h, topic, keys, 0, 8)
      await sleep(100)
      const between = Date.now()
      await sleep(100)
      await produce(h, topic, keys, 2, 8)
      // Nothing committed yet: earliest reads everything.
      await admin.resetOffsets(group, topic, 'earliest')
      expect(await readFromGroup('16 records', atLeast(16))).toHaveLength(16)
      await admin.resetOffsets(group, topic, 'earliest')
      const replay = await readFromGroup('16 records', atLeast(16))
      expect(replay).toHaveLength(16)
      expect(orderViolations(replay)).toEqual([])
      // To a time: per partition, the first record at or after it.
      await admin.resetOffsets(group, topic.name, { timestamp: between })
      const later = await readFromGroup('8 records', atLeast(8))
      expect(later.map((e) => e.seq).sort()).toEqual([2, 2, 2, 2, 3, 3, 3, 3])
      // Given offsets: one partition moves, the other keeps its position.
      const ofA = first.find((m, i) => keys[i % keys.length] === 'a' && Math.floor(i / keys.length) === 1)!
      await admin.resetOffsets(group, topic, { [ofA.partition]: ofA.offset })
      const fromA = await readFromGroup("a's records from seq 1", (events) =>
        events.some((e) => e.key === 'a' && e.seq === 3),
      )
      expect(fromA.length).toBeGreaterThan(0)
      expect(fromA.every((e) => e.partition === ofA.partition)).toBe(true)
      expect(fromA.filter((e) => e.key === 'a').map((e) => e.seq)).toEqual([1, 2, 3])
      // Latest: only records written after.
      await admin.resetOffsets(group, topic, 'latest')
      expect(await readFromGroup('nothing', () => true)).toEqual([])
      await admin.resetOffsets(group, topic, 'latest')
      const tail = recorder('tail')
      await (await h.client()).consumer(h.consumerOptions(group)).subscribe(topic, tail.handler)
      await produce(h, topic, keys, 4, 4)
      await waitFor('the records after latest', t, () => tail.events.length >= 4)
      await sleep(200)
      expect(tail.events.map((e) => e.seq)).toEqual([4, 4, 4, 4])
    },
  },
  {
    name: 'resetOffsets is refused with a GroupInUseError while the group has a live member',
    async run(h) {
      const topic = seqTopic('reset-live', 1)
      const group = unique('group')
      const client = await h.client()
      await client.consumer(h.consumerOptions(group)).subscribe(topic, () => {})
      const admin = (await h.client()).admin()
      const refused = await admin.resetOffsets(group, topic, 'earliest').catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(GroupInUseError)
      expect(refused).toMatchObject({ code: 'GROUP_IN_USE', groupId: group })
      await client.close()
      await admin.resetOffsets(group, topic, 'earliest')
    },
  },
  {
    name: 'resetOffsets past the end is clamped to the end: records sent afterwards are consumed and lag is right',
    timeoutFactor: 4,
    async run(h) {
      const topic = seqTopic('reset-past-end', 1)
      const group = unique('group')
      const admin = (await h.client()).admin()
      const sent = await produce(h, topic, ['a'], 0, 5)
      // Far past the end in this backend's offset form (decimal offsets, or stream entry ids on Redis).
      const far = /^\d+$/.test(sent[0]!.offset) ? '1000000' : '99999999999999-0'
      await admin.resetOffsets(group, topic, { 0: far })
      const before = await admin.lag(group, topic)
      expect(before.partitions.map((p) => ({ committed: p.committed, lag: p.lag }))).toEqual([
        { committed: before.partitions[0]!.end, lag: 0 },
      ])
      const r = recorder('r')
      const client = await h.client()
      const consumer = client.consumer(h.consumerOptions(group))
      await consumer.subscribe(topic, r.handler)
      await produce(h, topic, ['a'], 5, 5)
      await waitFor('the 5 records sent after the reset', h.timeoutMs, () => r.events.length >= 5)
      await sleep(200)
      expect(r.events.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9])
      await waitFor('lag 0', h.timeoutMs, async () => (await consumer.lag()).total === 0)
      await client.close()
    },
  },
  {
    name: 'resetOffsets to a malformed offset is a ConfigError and leaves the group free for the next reset',
    async run(h) {
      const topic = seqTopic('reset-malformed', 2)
      const group = unique('group')
      await produce(h, topic, ['a'], 0, 1)
      const admin = (await h.client()).admin()
      const refused = await admin.resetOffsets(group, topic, { 0: 'abc' }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(ConfigError)
      expect(String((refused as Error).message)).toContain("'abc'")
      const noSuch = await admin.resetOffsets(group, topic, { 5: '0' }).catch((e: unknown) => e)
      expect(noSuch).toBeInstanceOf(ConfigError)
      await admin.resetOffsets(group, topic, 'earliest')
    },
  },
]

/** Partition ownership as members see it, pause and resume, seek, and resetting a group's offsets. */
export const controlCases: readonly ConformanceCase[] = [...assignmentCases, ...pauseSeekCases]
