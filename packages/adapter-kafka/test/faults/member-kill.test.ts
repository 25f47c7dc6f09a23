import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { missing, orderViolations, unique, waitFor, type Handled } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER } from '../support/brokers.js'

const memberScript = fileURLToPath(new URL('./member.ts', import.meta.url))

describe('kafka faults: group member killed', () => {
  it("moves a killed member's partitions to the survivor, which redelivers from the last commit in per-key order", async () => {
    const partitions = 4
    const topic = defineTopic(unique('member-kill'), { partitions, value: serdes.json<{ seq: number }>() })
    const group = unique('group')
    const keys = Array.from({ length: 16 }, (_, i) => `user-${i}`)
    const rounds = 40
    const events: Array<Handled & { offset: string }> = []
    const client = createClient({ backend: kafka({ brokers: CLUSTER, logLevel: 'nothing' }) })
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', memberScript, CLUSTER.join(','), topic.name, String(partitions), group],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const producer = client.producer()
      for (let seq = 0; seq < rounds; seq++)
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: { seq } })),
        )

      let joined = false
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as { joined?: true; key: string; seq: number; partition: number; offset: string }
        if (event.joined) joined = true
        else events.push({ ...event, member: 'killed' })
      })
      await waitFor('the child member to join and handle records', 60_000, () => joined && events.length > 40)

      // The survivor joins; the group splits the partitions, then the child keeps handling its share.
      await client
        .consumer({ groupId: group, maxBatchSize: 10, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
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
      child.kill('SIGKILL')
      const handledByChild = events.filter((e) => e.member === 'killed')
      const childPartitions = new Set(handledByChild.slice(-5).map((e) => e.partition))

      await waitFor('every record after the kill', 60_000, () => missing(events, keys, rounds).length === 0)
      expect(orderViolations(events)).toEqual([])
      // The survivor took over the partitions the child held when it died…
      for (const p of childPartitions)
        expect(
          events.some(
            (e) =>
              e.member === 'survivor' &&
              e.partition === p &&
              Number(e.offset) > Number(handledByChild.filter((c) => c.partition === p).at(-1)!.offset),
          ),
        ).toBe(true)
      // …and redelivered what the child handled after its last commit (at-least-once, never lost).
      const survivorSaw = new Set(
        events.filter((e) => e.member === 'survivor').map((e) => `${e.partition}@${e.offset}`),
      )
      expect(handledByChild.some((e) => survivorSaw.has(`${e.partition}@${e.offset}`))).toBe(true)
    } finally {
      child.kill('SIGKILL')
      await client.close()
    }
  }, 180_000)
})
