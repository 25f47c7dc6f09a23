import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes, type Logger } from '@keyed/sdk'
import { sleep, unique, waitFor } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER, TRANSPORT } from '../support/brokers.js'
import { spawnMember } from './spawn-member.js'

const partitions = 4
const all = [0, 1, 2, 3]
const sorted = (list: Iterable<number>) => [...list].sort((a, b) => a - b)

// kafkajs only (the platformatic faults project excludes this file): kafkajs rejoins an expelled member under a new member id without a REBALANCING event, and a handler that never
// settles stops its heartbeats altogether: the member must still hear that it lost every partition it held.
describe('kafka faults: a member expelled from its group', () => {
  it('a member frozen past its session revokes every partition it held before its new assignment, even a superset', async () => {
    const topic = defineTopic(unique('member-expel'), { partitions, value: serdes.json<{ seq: number }>() })
    const group = unique('group')
    const client = createClient({ backend: kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing' }) })
    const child = spawnMember(topic.name, partitions, group, { rebalances: true })
    const held = new Set<number>()
    const afterResume: Array<{ assigned?: number[]; revoked?: number[] }> = []
    let joined = false
    let resumed = false
    try {
      const producer = client.producer()
      for (let seq = 0; seq < 20; seq++)
        await producer.send(
          topic,
          Array.from({ length: 16 }, (_, i) => ({ key: `user-${i}`, value: { seq } })),
        )
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as { joined?: true; assigned?: number[]; revoked?: number[] }
        if (event.joined) joined = true
        if (!event.assigned && !event.revoked) return
        if (resumed) afterResume.push(event)
        for (const p of event.revoked ?? []) held.delete(p)
        for (const p of event.assigned ?? []) held.add(p)
      })
      await waitFor('the child member to join', 60_000, () => joined && held.size === partitions)
      const survivor = client.consumer({ groupId: group, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
      await survivor.subscribe(topic, () => undefined, { fromBeginning: true })
      await waitFor('the group to split the partitions', 30_000, () => held.size === 2)
      const heldAtFreeze = sorted(held)

      child.kill('SIGSTOP')
      // The group expels the frozen child after its 6 s session timeout; the survivor takes every partition, then
      // leaves, so the child comes back to an empty group and is given all of them: more than it held.
      await waitFor('the survivor to own every partition', 30_000, () => survivor.assignment().length === partitions)
      await survivor.close()
      resumed = true
      child.kill('SIGCONT')
      await waitFor('the resumed child to be assigned again', 30_000, () =>
        afterResume.some((e) => e.assigned !== undefined),
      )
      // Its partitions were all lost while it was frozen: revoked (a per-partition cache dropped), then assigned.
      expect(afterResume.map((e) => (e.revoked ? { revoked: sorted(e.revoked) } : e))).toEqual([
        { revoked: heldAtFreeze },
        { assigned: all },
      ])
    } finally {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await client.close()
    }
  }, 180_000)

  it('a member whose handler hangs past its session revokes its partitions and warns with the record once expelled', async () => {
    const topic = defineTopic(unique('member-hang'), { partitions, value: serdes.json<number>() })
    const group = unique('group')
    const warnings: string[] = []
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_o, msg) => void warnings.push(msg ?? '') }
    const backend = () => kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing' })
    const client = createClient({ backend: backend(), logger })
    const other = createClient({ backend: backend() })
    let release = () => {}
    let hung: string | undefined
    const revoked: number[][] = []
    const byOther: Array<{ partition: number; offset: string }> = []
    try {
      await client.producer().send(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: i })),
      )
      const member = client.consumer({
        groupId: group,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        maxBatchSize: 1,
        closeTimeoutMs: 1000,
        onPartitionsRevoked: (tps) => void revoked.push(sorted(tps.map((tp) => tp.partition))),
      })
      await member.subscribe(
        topic,
        async (m) => {
          if (m.partition !== 0 || hung !== undefined) return
          hung = m.offset
          await new Promise<void>((resolve) => (release = resolve))
        },
        { fromBeginning: true },
      )
      await waitFor('a handler to hang', 30_000, () => hung !== undefined)
      const second = other.consumer({ groupId: group, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
      await second.subscribe(topic, (m) => void byOther.push({ partition: m.partition, offset: m.offset }), {
        fromBeginning: true,
      })
      // The other member takes partition 0 once the hung one is expelled, and handles the hung record too.
      await waitFor('the other member to handle the hung record', 30_000, () =>
        byOther.some((r) => r.partition === 0 && r.offset === hung),
      )
      await waitFor('the hung member to revoke its partitions', 15_000, () => revoked.length > 0)
      await sleep(500)
      expect(revoked).toEqual([all])
      expect(member.assignment()).toEqual([])
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`${topic.name}[0]`)
      expect(warnings[0]).toContain(`the record at offset ${hung}`)
      expect(warnings[0]).toContain('sessionTimeoutMs of 6000 ms')
    } finally {
      release()
      await client.close().catch(() => undefined)
      await other.close()
    }
  }, 120_000)
})
