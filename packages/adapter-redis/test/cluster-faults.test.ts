import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type Client } from '@keyed/sdk'
import { missing, orderViolations, sleep, waitFor, type Handled } from '@keyed/sdk/testing'
import { redis } from '../src/index.js'
import { cleanupCluster, CLUSTER_URLS, runPrefix, uniqueTopic } from './helpers.js'
import { MemberProcess } from './member-process.js'
import { clusterScript, failedOver, ownersOf, primaryOf, reshard, slotsToMove } from './cluster.js'

// Faults on the test cluster (3 primaries, 3 replicas, cluster-node-timeout 1000 ms): a primary killed with SIGKILL
// while records flow; its replica takes over. Every record is counted.
const prefix = runPrefix()
const clients: Client[] = []
const children: MemberProcess[] = []
const client = (clientId: string) => {
  const c = createClient({
    clientId,
    backend: redis({ cluster: CLUSTER_URLS, keyPrefix: prefix, blockMs: 200, replicaTimeoutMs: 500 }),
  })
  clients.push(c)
  return c
}

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()))
  await Promise.all(clients.map((c) => c.close()))
  await cleanupCluster(prefix)
})

type Seq = { key: string; seq: number }

/**
 * Two group members consume and a producer with acks 'all' sends perKey records to each of 24 keys while `fault`
 * runs (after a third is sent). Returns what was acknowledged, handled, and any moment two members were inside one
 * partition at once.
 */
async function flow(
  name: string,
  fault: (topic: string, child: MemberProcess | undefined) => Promise<void>,
  withChild = false,
) {
  const topic = defineTopic(name, { partitions: 12 })
  await client('admin').admin().ensureTopics([topic])
  const handled: Array<Handled & { member: string; t: number }> = []
  // Per partition, who is handling a record now: two members never inside one partition at the same moment.
  const busy = new Map<number, string>()
  const overlaps: string[] = []
  const member = (memberName: string) =>
    client(memberName)
      .consumer({ groupId: name, sessionTimeoutMs: 3000, heartbeatIntervalMs: 200 })
      .subscribe(
        topic,
        async (m) => {
          const holder = busy.get(m.partition)
          if (holder !== undefined && holder !== memberName)
            overlaps.push(`partition ${m.partition}: ${memberName} while ${holder}`)
          busy.set(m.partition, memberName)
          handled.push({ member: memberName, ...(m.value as Seq), partition: m.partition, t: Date.now() })
          await sleep(1)
          busy.delete(m.partition)
        },
        { fromBeginning: true },
      )
  // With a child process as the second member, its handled records count too (its own commits, one per record).
  const child = withChild
    ? new MemberProcess({
        CLUSTER: CLUSTER_URLS.join(','),
        PREFIX: prefix,
        MEMBER: 'child',
        TOPIC: name,
        GROUP: name,
        PARTITIONS: '12',
        DELAY_MS: '1',
        SESSION_MS: '3000',
        HEARTBEAT_MS: '200',
      })
    : undefined
  if (child) children.push(child)
  await Promise.all([member('m1'), child ? waitFor('the child member', 20_000, () => child.ready) : member('m2')])
  const all = () =>
    [
      ...handled,
      ...(child?.events
        .filter((e) => e.ev === 'start')
        .map((e) => ({ member: 'child', key: e.key!, seq: e.seq!, partition: e.partition!, t: e.t })) ?? []),
    ].sort((a, b) => a.t - b.t)

  const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`)
  const perKey = 120
  const producer = client('producer').producer({ idempotent: false, retries: 0 })
  const acked: string[] = []
  const failures = new Map<string, number>()
  let sent = 0
  let faultEnded = false
  const sending = (async () => {
    for (let seq = 0; seq < perKey; seq++) {
      // The last rounds wait for the fault to end, so some records are sent after it however long it takes.
      if (seq === perKey - 10) await waitFor('the fault to end', 60_000, () => faultEnded)
      // A refused or timed-out send is sent again (at-least-once); only a resolved send counts as acknowledged.
      for (;;) {
        try {
          await producer.send(
            topic,
            keys.map((key) => ({ key, value: { key, seq } })),
          )
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
  let sentAfterFault = -1
  const faulted = fault(name, child).then(() => {
    sentAfterFault = sent
    faultEnded = true
  })
  await Promise.all([sending, faulted])
  // The fault ended while records were still being sent.
  expect(sentAfterFault).toBeLessThan(perKey)
  expect(sent).toBe(perKey)
  await waitFor('every acknowledged record', 30_000, () => missing(all(), keys, perKey).length === 0).catch(
    () => undefined,
  )
  const events = all()
  const seen = new Set(events.map((h) => `${h.key}#${h.seq}`))
  console.log(
    `${name}: ${acked.length} acknowledged, ${events.length} handled (${events.length - seen.size} again), send failures retried: ${JSON.stringify(Object.fromEntries(failures))}`,
  )
  return { lost: acked.filter((r) => !seen.has(r)), violations: orderViolations(events), overlaps }
}

describe('redis cluster under faults', () => {
  it("with acks 'all', a primary killed during produce and consume loses no acknowledged record and keeps per-key order; no two members own a partition at once", async () => {
    const result = await flow(uniqueTopic('failover'), async (topic) => {
      const victim = await primaryOf(prefix, topic, 0)
      clusterScript('kill', String(victim))
      await failedOver(victim)
      // The promoted replica has no replica of its own: acks 'all' to its shard times out until the old primary is back.
      await sleep(1000)
      clusterScript('restart', String(victim))
    })
    expect(result).toEqual({ lost: [], violations: [], overlaps: [] })
  })

  it('a member killed with SIGKILL during a failover: the survivor takes its partitions, nothing acknowledged lost, per-key order kept', async () => {
    const result = await flow(
      uniqueTopic('failover-member'),
      async (topic, child) => {
        const victim = await primaryOf(prefix, topic, 0)
        clusterScript('kill', String(victim))
        await child!.kill()
        await failedOver(victim)
        await sleep(1000)
        clusterScript('restart', String(victim))
      },
      true,
    )
    expect(result).toEqual({ lost: [], violations: [], overlaps: [] })
  })

  it('moves slots with redis-cli --cluster reshard while records flow: nothing acknowledged lost, per-key order kept', async () => {
    // A topic with a partition near the start of its primary's slot range: reshard moves slots from the start.
    let name = uniqueTopic('reshard')
    let move = await slotsToMove(name)
    for (let i = 0; i < 50 && move.count > 400; i++) move = await slotsToMove((name = uniqueTopic('reshard')))
    const result = await flow(name, () => reshard(move.from, move.to, move.count))
    expect(result).toEqual({ lost: [], violations: [], overlaps: [] })
    expect(await ownersOf(name)).toContain(move.to) // the partition's slot did move
    console.log(`reshard: ${move.count} slots moved`)
  })
})
