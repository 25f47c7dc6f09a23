import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { missing, sleep, unique, waitFor } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER, TRANSPORT } from '../support/brokers.js'
import { spawnMember } from './spawn-member.js'

type Handled = { key: string; seq: number; partition: number; offset: string }

describe('kafka faults: group member frozen past its session timeout', () => {
  it('a member resumed after SIGSTOP handles nothing of the partitions the group gave away', async () => {
    const partitions = 4
    const topic = defineTopic(unique('member-freeze'), { partitions, value: serdes.json<{ seq: number }>() })
    const group = unique('group')
    const keys = Array.from({ length: 16 }, (_, i) => `user-${i}`)
    const rounds = 50
    const client = createClient({ backend: kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing' }) })
    // Whole fetched batches go to the SDK in one piece: only the per-record ownership check can stop the frozen member.
    const child = spawnMember(topic.name, partitions, group, { maxBatchSize: 500, started: true })
    const started: Array<Handled & { resumed: boolean }> = []
    const survivor: Handled[] = []
    const childDone: Handled[] = []
    let joined = false
    let resumed = false
    try {
      const producer = client.producer()
      for (let seq = 0; seq < rounds; seq++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq } })),
        )
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as Handled & { joined?: true; started?: Handled; committed?: unknown }
        if (event.joined) joined = true
        else if (event.started) started.push({ ...event.started, resumed })
        else if (!event.committed) childDone.push(event)
      })
      await waitFor('the child member to join and start handling', 60_000, () => joined && started.length > 40)
      child.kill('SIGSTOP')
      // Lines the child wrote before it stopped are read by now.
      await sleep(500)
      const beforeFreeze = started.length

      // The group expels the frozen member after its 6 s session timeout; the survivor takes every partition.
      await client
        .consumer({ groupId: group, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
        .subscribe(
          topic,
          (m) => void survivor.push({ key: m.key, seq: m.value.seq, partition: m.partition, offset: m.offset }),
          { fromBeginning: true },
        )
      // The survivor starts from the child's last commits: together they handled everything.
      const all = () => [...childDone, ...survivor].map((e) => ({ ...e, member: '' }))
      await waitFor('the survivor to handle every record', 60_000, () => missing(all(), keys, rounds).length === 0)
      expect(survivor.length).toBeGreaterThan(0)
      resumed = true
      child.kill('SIGCONT')
      // Long enough for the resumed member to go on with the batches it held, to notice, and to rejoin.
      await sleep(8000)
      const afterResume = started.filter((e) => e.resumed)
      expect(beforeFreeze).toBeGreaterThan(40)
      // At most the records in flight at the freeze finish (they were started before it); none is started after it.
      expect(afterResume).toEqual([])
    } finally {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await client.close()
    }
  }, 180_000)
})
