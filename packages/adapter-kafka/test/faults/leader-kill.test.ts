import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, partitionFor, serdes } from '@keyed/sdk'
import { missing, sleep, unique, waitFor, type Handled } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER, TRANSPORT } from '../support/brokers.js'
import { killNode, leaderOf, restartNode } from './cluster.js'

type Seq = { seq: number }
const clusterKafka = () => kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing' })

describe('kafka faults: partition leader killed', () => {
  let killed: number | undefined
  afterAll(() => {
    if (killed !== undefined) restartNode(killed)
  })

  it('a strict producer sending batches and concurrent records through a leader kill leaves every record once, in order per key', async () => {
    const partitions = 3
    const topic = defineTopic(unique('leader-kill'), { partitions, value: serdes.json<Seq>() })
    const keys = Array.from({ length: 30 }, (_, i) => `acct-${i}`)
    const rounds = 60
    const client = createClient({ backend: clusterKafka() })
    const log = new Map<string, Handled>()
    try {
      await client.admin().ensureTopics([topic])
      // The partition of the first key: its leader is the broker we kill.
      const victim = await leaderOf(topic.name, partitionFor(keys[0]!, partitions))
      const producer = client.producer({ ordering: 'strict', retries: 12 })
      let done = 0
      const sending = (async () => {
        for (let seq = 0; seq < rounds; seq++, done++) {
          // Two calls in flight, each a batch over every partition: the SDK and the adapter must keep calls in order
          // across the failover, and kafkajs drops a partition whose new leader already answered (issue 1303).
          const half = keys.length / 2
          await Promise.all(
            [keys.slice(0, half), keys.slice(half)].map((batch) =>
              producer.send(
                topic,
                batch.map((key) => ({ key, value: { seq } })),
              ),
            ),
          )
          await sleep(20)
        }
      })()
      await waitFor('the first rounds to land', 30_000, () => done >= 5)
      killNode(victim)
      killed = victim
      const doneAtKill = done
      await sending
      // The kill landed mid-stream, not before or after it.
      expect(doneAtKill).toBeGreaterThan(0)
      expect(doneAtKill).toBeLessThan(rounds)
      restartNode(victim)
      killed = undefined

      const reader = createClient({ backend: clusterKafka() })
      try {
        await reader.consumer({ groupId: unique('verify') }).subscribe(
          topic,
          (m) => {
            // The reader is itself at-least-once: a rebalance after the restart may redeliver, so the log is keyed by offset.
            log.set(`${m.partition}/${m.offset.padStart(12, '0')}`, {
              member: 'r',
              key: m.key,
              seq: m.value.seq,
              partition: m.partition,
            })
          },
          { fromBeginning: true },
        )
        await waitFor('every record', 45_000, () => log.size >= keys.length * rounds)
        await sleep(500)
      } finally {
        await reader.close()
      }
    } finally {
      await client.close()
    }
    // Each partition's records in offset order: a record the producer appended twice has two offsets and shows here.
    const events = [...log.keys()].sort().map((k) => log.get(k)!)
    expect(missing(events, keys, rounds)).toEqual([])
    const byKey = new Map<string, number[]>()
    for (const e of events) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.seq])
    const range = Array.from({ length: rounds }, (_, i) => i)
    for (const [key, seqs] of byKey) expect(seqs, `${key}: once each, in order`).toEqual(range)
  }, 180_000)
})
