import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { missing, orderViolations, unique, waitFor, type Handled } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER, TRANSPORT } from '../support/brokers.js'
import { spawnMember } from './spawn-member.js'

type Event = Handled & { offset: string }

const partitions = 4
const keys = Array.from({ length: 16 }, (_, i) => `user-${i}`)
const rounds = 80
const maxBatchSize = 10

/**
 * A member in a child process handles records, a survivor joins the group, the child is SIGKILLed mid-stream; then
 * every record must be handled. Returns every handled record in handling order, by member.
 */
async function killMidStream(concurrency: number): Promise<{ events: Event[]; byChild: Event[] }> {
  const topic = defineTopic(unique('member-kill'), { partitions, value: serdes.json<{ seq: number }>() })
  const group = unique('group')
  const events: Event[] = []
  const client = createClient({ backend: kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing' }) })
  const child = spawnMember(topic.name, partitions, group, { concurrency, maxBatchSize, started: true })
  try {
    const producer = client.producer()
    for (let seq = 0; seq < rounds; seq++)
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { seq } })),
      )

    // The kill must land inside a batch, after some of its records were handled and before its commit, or there is
    // nothing to redeliver: once armed, it fires when a record starts on a partition whose handled records run past its
    // last commit. A batch commits at its end, before the partition's next batch starts, and the child prints in that
    // order, so the handled record is uncommitted when the kill arrives.
    let joined = false
    let armed = false
    let killed = false
    const committed = new Map<number, bigint>()
    const handledLast = new Map<number, bigint>()
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as {
        joined?: true
        started?: { partition: number; offset: string }
        committed?: Array<{ partition: number; offset: string }>
      } & { key: string; seq: number; partition: number; offset: string }
      if (event.joined) joined = true
      else if (event.committed) for (const c of event.committed) committed.set(c.partition, BigInt(c.offset))
      else if (event.started) {
        const { partition } = event.started
        const handled = handledLast.get(partition)
        if (armed && !killed && handled !== undefined && handled > (committed.get(partition) ?? -1n)) {
          killed = true
          child.kill('SIGKILL')
        }
      } else {
        events.push({ ...event, member: 'killed' })
        const offset = BigInt(event.offset)
        if (offset > (handledLast.get(event.partition) ?? -1n)) handledLast.set(event.partition, offset)
      }
    })
    await waitFor('the child member to join and handle records', 60_000, () => joined && events.length > 40)

    // The survivor joins; the group splits the partitions, then the child keeps handling its share.
    await client
      .consumer({ groupId: group, maxBatchSize, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, concurrency })
      .subscribe(
        topic,
        (m) =>
          void events.push({
            member: 'survivor',
            key: m.key,
            seq: m.value.seq,
            partition: m.partition,
            offset: m.offset,
          }),
        { fromBeginning: true },
      )
    const before = events.filter((e) => e.member === 'killed').length
    await waitFor(
      'the child to handle more after the rebalance',
      30_000,
      () => events.filter((e) => e.member === 'killed').length > before + 15,
    )
    armed = true
    await waitFor('the child to be killed inside a batch', 30_000, () => killed)
    const byChild = events.filter((e) => e.member === 'killed')
    await waitFor('every record after the kill', 60_000, () => missing(events, keys, rounds).length === 0)
    return { events, byChild }
  } finally {
    child.kill('SIGKILL')
    await client.close()
  }
}

/** Records handled by both members (the at-least-once redeliveries). */
const redelivered = (events: readonly Event[]) => {
  const bySurvivor = new Set(events.filter((e) => e.member === 'survivor').map((e) => `${e.partition}@${e.offset}`))
  return events.filter((e) => e.member === 'killed' && bySurvivor.has(`${e.partition}@${e.offset}`))
}

describe('kafka faults: group member killed', () => {
  it("moves a killed member's partitions to the survivor, which redelivers from the last commit in per-key order", async () => {
    const { events, byChild } = await killMidStream(1)
    expect(orderViolations(events)).toEqual([])
    // The survivor took over the partitions the child held when it died…
    for (const p of new Set(byChild.slice(-5).map((e) => e.partition)))
      expect(
        events.some(
          (e) =>
            e.member === 'survivor' &&
            e.partition === p &&
            Number(e.offset) > Number(byChild.filter((c) => c.partition === p).at(-1)!.offset),
        ),
      ).toBe(true)
    // …and redelivered what the child handled after its last commit (at-least-once, never lost).
    expect(redelivered(events).length).toBeGreaterThan(0)
  }, 180_000)

  it('with per-key concurrency, a member killed with records in flight loses none: redelivery starts at the committed prefix, in per-key order, duplicates bounded by the batches in flight', async () => {
    const { events, byChild } = await killMidStream(8)
    // Handlers of different keys overlapped in the child, so records finished out of offset order.
    const outOfOrder = byChild.some((e, i) =>
      byChild.slice(0, i).some((d) => d.partition === e.partition && Number(d.offset) > Number(e.offset)),
    )
    expect(outOfOrder, 'the child ran records concurrently').toBe(true)
    // No key skipped ahead of a record it had not handled, across the handover.
    expect(orderViolations(events)).toEqual([])
    // A batch's finished prefix is committed at its end, so what the survivor redelivers is at most the records of the
    // batches the child had in flight: one per partition it owned.
    const again = redelivered(events)
    expect(again.length).toBeGreaterThan(0)
    expect(again.length).toBeLessThanOrEqual(partitions * maxBatchSize)
  }, 180_000)
})
