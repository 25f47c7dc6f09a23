import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type Client, type KeyedError } from '@keyed/sdk'
import { waitFor } from '@keyed/sdk/testing'
import { redis } from '../src/index.js'
import { privateServer, REDIS_URL, runPrefix, uniqueTopic, cleanup, type PrivateServer } from './helpers.js'

// acks 'all' on Redis: WAIT for replicas after the append (the cluster's failover test is in cluster-faults.test.ts).
const prefix = runPrefix()
const clients: Client[] = []
const servers: PrivateServer[] = []
const client = (url: string, extra: Parameters<typeof redis>[0] = {}) => {
  const c = createClient({ backend: redis({ url, keyPrefix: prefix, sendTimeoutMs: 5000, ...extra }) })
  clients.push(c)
  return c
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await cleanup(prefix)
  for (const s of servers) s.signal('SIGCONT')
  await Promise.all(servers.map((s) => s.stop()))
})

/** A primary with one replica in sync. */
async function primaryWithReplica(): Promise<{ primary: PrivateServer; replica: PrivateServer }> {
  const primary = await privateServer()
  servers.push(primary)
  const replica = await privateServer(['--replicaof', '127.0.0.1', String(primary.port)])
  servers.push(replica)
  const conn = new Redis(replica.url, { maxRetriesPerRequest: 1 })
  try {
    await waitFor('the replica in sync', 10_000, async () =>
      /master_link_status:up/.test(await conn.info('replication')),
    )
  } finally {
    conn.disconnect()
  }
  return { primary, replica }
}

async function failure(work: Promise<unknown>): Promise<KeyedError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isKeyedError(error), String(error)).toBe(true)
  return error as KeyedError
}

describe("redis acks 'all'", () => {
  it("resolves once a replica has the records, and fails with a retriable TimeoutError when none acknowledges within replicaTimeoutMs; acks 'leader' does not wait", async () => {
    const { primary, replica } = await primaryWithReplica()
    const topic = defineTopic(uniqueTopic('acks'), { partitions: 2 })
    const c = client(primary.url, { replicaTimeoutMs: 300 })
    await c.admin().ensureTopics([topic])
    const all = c.producer({ idempotent: false, retries: 0 })
    const leader = c.producer({ acks: 'leader', idempotent: false, retries: 0 })
    await all.send(topic, [
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])

    replica.signal('SIGSTOP') // connected, in sync until now, and answering nothing
    const t0 = Date.now()
    const error = await failure(all.send(topic, { key: 'a', value: 3 }))
    expect(error.code).toBe('TIMEOUT')
    expect(error.retriable).toBe(true)
    expect(error.message).toMatch(/reached 0 of 1 replica/)
    expect(error.message).toMatch(/replicaTimeoutMs/)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
    // 'leader' is acknowledged by the primary alone.
    await leader.send(topic, { key: 'a', value: 4 })
    replica.signal('SIGCONT')
    await all.send(topic, { key: 'a', value: 5 })
  })

  it('waits for nobody on a server without replicas, unless redis({ replicas }) asks: then every send times out', async () => {
    const topic = defineTopic(uniqueTopic('noreplica'), { partitions: 1 })
    const c = client(REDIS_URL)
    await c.admin().ensureTopics([topic])
    await c.producer().send(topic, { key: 'a', value: 1 }) // detects 0 replicas: no WAIT
    const strict = client(REDIS_URL, { replicas: 1, replicaTimeoutMs: 100 })
    const error = await failure(strict.producer({ idempotent: false, retries: 0 }).send(topic, { key: 'a', value: 2 }))
    expect(error.code).toBe('TIMEOUT')
    expect(() => redis({ replicas: -1 })).toThrow(/replicas/)
  })

  it('a member holds a partition only as far as a replica confirmed its lease: with the replica frozen it stops handling within the lease, warns that its commits are unconfirmed, and resumes without loss once the replica answers', async () => {
    const { primary, replica } = await primaryWithReplica()
    const topic = defineTopic(uniqueTopic('lease-wait'), { partitions: 1 })
    const warnings: string[] = []
    const quiet = () => undefined
    const c = createClient({
      backend: redis({ url: primary.url, keyPrefix: prefix, sendTimeoutMs: 5000, replicaTimeoutMs: 100, blockMs: 100 }),
      logger: { debug: quiet, info: quiet, warn: (_o, msg) => void warnings.push(String(msg)), error: quiet },
    })
    clients.push(c)
    const seen: number[] = []
    await c
      .consumer({ groupId: 'lease-wait', sessionTimeoutMs: 1500, heartbeatIntervalMs: 200 })
      .subscribe(topic, (m) => void seen.push(m.value as number), { fromBeginning: true })
    const leader = c.producer({ acks: 'leader', idempotent: false })
    await leader.send(topic, { key: 'a', value: 0 })
    await waitFor('the first record', 10_000, () => seen.length === 1)

    replica.signal('SIGSTOP')
    await leader.send(topic, { key: 'a', value: 1 }) // handled at once, but its commit cannot be confirmed
    await waitFor('a warning about the unconfirmed commit', 10_000, () =>
      warnings.some((w) => /could not get its (commits|partition leases) confirmed by 1 replica/.test(w)),
    )
    // Past the lease (1,500 ms) with no renewal confirmed, the member has let the partition go.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const before = seen.length
    await leader.send(
      topic,
      [2, 3, 4].map((value) => ({ key: 'a', value })),
    )
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(seen.length, 'nothing handled without a confirmed lease').toBe(before)

    replica.signal('SIGCONT')
    await waitFor('every record once the replica answers', 15_000, () => [2, 3, 4].every((v) => seen.includes(v)))
    expect(seen.filter((v) => v >= 2)).toEqual([2, 3, 4])
  })

  it("groupAcks: 'leader' does not wait for replicas: a member keeps handling with its replica frozen", async () => {
    const { primary, replica } = await primaryWithReplica()
    const topic = defineTopic(uniqueTopic('lease-leader'), { partitions: 1 })
    const c = client(primary.url, { replicaTimeoutMs: 100, blockMs: 100, groupAcks: 'leader' })
    const seen: number[] = []
    await c
      .consumer({ groupId: 'lease-leader', sessionTimeoutMs: 1500, heartbeatIntervalMs: 200 })
      .subscribe(topic, (m) => void seen.push(m.value as number), { fromBeginning: true })
    const leader = c.producer({ acks: 'leader', idempotent: false })
    replica.signal('SIGSTOP')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    await leader.send(
      topic,
      [1, 2, 3].map((value) => ({ key: 'a', value })),
    )
    await waitFor('the records with the replica frozen', 5000, () => seen.length === 3)
    replica.signal('SIGCONT')
    expect(() => redis({ groupAcks: 'some' as 'all' })).toThrow(/groupAcks/)
  })

  it('says on the logger why nothing is handled when no replica confirms the leases (groupAcks all, replicas 1, none there)', async () => {
    const topic = defineTopic(uniqueTopic('no-replica-lease'), { partitions: 1 })
    const warnings: string[] = []
    const quiet = () => undefined
    const c = createClient({
      backend: redis({ url: REDIS_URL, keyPrefix: prefix, replicas: 1, replicaTimeoutMs: 100, blockMs: 100 }),
      logger: { debug: quiet, info: quiet, warn: (_o, msg) => void warnings.push(String(msg)), error: quiet },
    })
    clients.push(c)
    await c.admin().ensureTopics([topic])
    await c
      .consumer({ groupId: 'no-replica-lease', sessionTimeoutMs: 1500, heartbeatIntervalMs: 200 })
      .subscribe(topic, () => undefined)
    await waitFor('a warning naming the unconfirmed leases', 5000, () =>
      warnings.some((w) => /could not get its partition leases confirmed by 1 replica.*groupAcks: 'leader'/s.test(w)),
    )
    // Once, not per heartbeat.
    expect(warnings.filter((w) => /partition leases/.test(w))).toHaveLength(1)
  })
})
