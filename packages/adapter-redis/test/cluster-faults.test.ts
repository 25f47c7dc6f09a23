import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type Client } from '@keyed/sdk'
import { missing, orderViolations, sleep, waitFor, type Handled } from '@keyed/sdk/testing'
import { redis } from '../src/index.js'
import { cleanupCluster, CLUSTER_URLS, runPrefix, uniqueTopic } from './helpers.js'
import { clusterScript, failedOver, primaryOf } from './cluster.js'

// Faults on the test cluster (3 primaries, 3 replicas, cluster-node-timeout 1000 ms): a primary killed with SIGKILL
// while records flow; its replica takes over. Every record is counted.
const prefix = runPrefix()
const clients: Client[] = []
const client = (clientId: string) => {
  const c = createClient({ clientId, backend: redis({ cluster: CLUSTER_URLS, keyPrefix: prefix, blockMs: 200, replicaTimeoutMs: 500 }) })
  clients.push(c)
  return c
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await cleanupCluster(prefix)
})

type Seq = { key: string; seq: number }

describe('redis cluster under faults', () => {
  it("with acks 'all', a primary killed during produce and consume loses no acknowledged record and keeps per-key order; no two members own a partition at once", async () => {
    const topic = defineTopic(uniqueTopic('failover'), { partitions: 12 })
    await client('admin').admin().ensureTopics([topic])
    const handled: Array<Handled & { member: string; t: number }> = []
    // Per partition, who handles a batch when: two members never inside one partition at the same moment.
    const busy = new Map<number, string>()
    const overlaps: string[] = []
    const member = (name: string) =>
      client(name)
        .consumer({ groupId: 'failover', sessionTimeoutMs: 3000, heartbeatIntervalMs: 200 })
        .subscribe(
          topic,
          async (m) => {
            const holder = busy.get(m.partition)
            if (holder !== undefined && holder !== name) overlaps.push(`partition ${m.partition}: ${name} while ${holder}`)
            busy.set(m.partition, name)
            handled.push({ member: name, ...(m.value as Seq), partition: m.partition, t: Date.now() })
            await sleep(1)
            busy.delete(m.partition)
          },
          { fromBeginning: true },
        )
    await Promise.all([member('m1'), member('m2')])

    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`)
    const perKey = 120
    const producer = client('producer').producer({ idempotent: false, retries: 0 })
    const acked: string[] = []
    const failures = new Map<string, number>()
    let sent = 0
    const sending = (async () => {
      for (let seq = 0; seq < perKey; seq++) {
        // A refused or timed-out send is sent again (at-least-once); only a resolved send counts as acknowledged.
        for (;;) {
          try {
            await producer.send(topic, keys.map((key) => ({ key, value: { key, seq } })))
            break
          } catch (error) {
            if (!isKeyedError(error) || !error.retriable) throw error
            failures.set(error.code, (failures.get(error.code) ?? 0) + 1)
            await sleep(100)
          }
        }
        for (const key of keys) acked.push(`${key}#${seq}`)
        sent = seq + 1
        await sleep(5)
      }
    })()
    await waitFor('a third of the records', 30_000, () => sent >= perKey / 3 && handled.length > 0)
    const victim = await primaryOf(prefix, topic.name, 0)
    clusterScript('kill', String(victim))
    await failedOver(victim)
    // The promoted replica has no replica of its own: acks 'all' to its shard times out until the old primary is back.
    await sleep(1000)
    clusterScript('restart', String(victim))
    await sending
    await waitFor('every acknowledged record', 30_000, () => missing(handled, keys, perKey).length === 0).catch(() => undefined)
    const seen = new Set(handled.map((h) => `${h.key}#${h.seq}`))
    expect(acked.filter((r) => !seen.has(r))).toEqual([])
    expect(orderViolations(handled)).toEqual([])
    expect(overlaps).toEqual([])
    console.log(`failover: ${acked.length} acknowledged, ${handled.length} handled (${handled.length - seen.size} again), send failures retried: ${JSON.stringify(Object.fromEntries(failures))}`)
  })
})
