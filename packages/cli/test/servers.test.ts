// Every command through the built binary against the real Kafka broker (127.0.0.1:9092) and redis-server
// (127.0.0.1:6379), with data written by the SDK in this process. They fail, never skip, when a server is down.
import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, partitionFor, type Client } from '@keyed/sdk'
import type { Backend, IncomingRecord } from '@keyed/sdk/backend'
import { kafka } from '@keyed/adapter-kafka'
import { redis } from '@keyed/adapter-redis'
import { analysisSchema, json, keyed, keyedAsync, lagSchema, migrateSchema, planSchema, unique } from './cli.js'

const servers = [
  {
    name: 'kafka',
    url: 'kafka://127.0.0.1:9092',
    backend: () => kafka({ brokers: ['127.0.0.1:9092'], logLevel: 'nothing' }),
  },
  { name: 'redis', url: 'redis://127.0.0.1:6379', backend: () => redis({ url: 'redis://127.0.0.1:6379' }) },
] as const

const clients: Client[] = []
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
})

/** Every record of the topic, read with the backend's own reader (not the CLI's code), in offset order per partition. */
async function readTopic(backend: Backend, topic: string): Promise<IncomingRecord[]> {
  const ends = await backend.endOffsets!(topic)
  const out: IncomingRecord[] = []
  const done = new Set<number>()
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const reader = backend.reader!({
    topic,
    partitions: ends.map((e) => e.partition),
    until: new Map(ends.map((e) => [e.partition, e.offset])),
    clientId: 'cli-test',
    maxBatchSize: 1000,
    onError: (error) => console.error(error),
    onBatch: async (batch) => {
      if (!done.has(batch.partition)) out.push(...batch.records)
      if (batch.caughtUp && !done.has(batch.partition)) {
        done.add(batch.partition)
        if (done.size === ends.length) finish()
      }
    },
  })
  await reader.start()
  await finished
  await reader.close()
  return out
}

describe.each(servers)('on $name', (server) => {
  const client = createClient({ backend: server.backend() })
  clients.push(client)
  const name = unique(server.name)
  const orders = defineTopic(`${name}-orders`, { partitions: 4 })
  const keys = Array.from({ length: 2000 }, (_, i) => (i % 5 === 0 ? 'hot-tenant' : `customer-${i % 300}`))

  it('keys analyze reads the topic to its end offsets; --sample reads about that many; partitions plan uses its keys', async () => {
    await client.producer().send(
      orders,
      keys.map((key, i) => ({ key, value: { i } })),
    )
    const a = json(keyed(['--backend', server.url, 'keys', 'analyze', orders.name, '--json']), analysisSchema)
    expect(a).toMatchObject({
      records: 2000,
      distinctKeys: new Set(keys).size,
      partitions: 4,
      keyless: 0,
      misplacedRecords: 0,
    })
    const load = [0, 0, 0, 0]
    for (const k of keys) load[partitionFor(k, 4)]!++
    expect(a.perPartition.map((p) => p.records)).toEqual(load)
    expect(a.hotKeys[0]).toMatchObject({ key: 'hot-tenant', records: 400 })
    const sample = json(
      keyed(['--backend', server.url, 'keys', 'analyze', orders.name, '--sample', '500', '--json']),
      analysisSchema,
    )
    expect(sample.records).toBeGreaterThanOrEqual(500)
    expect(sample.records).toBeLessThan(520)
    const text = keyed(['--backend', server.url, 'keys', 'analyze', orders.name])
    expect(text.stdout).toContain(`2,000 records, ${new Set(keys).size} distinct keys from topic '${orders.name}'`)
    const p = json(
      keyed(['--backend', server.url, 'partitions', 'plan', orders.name, '--to', '6', '--json']),
      planSchema,
    )
    expect(p.movedKeys).toBe([...new Set(keys)].filter((k) => partitionFor(k, 4) !== partitionFor(k, 6)).length)
    expect(p.ordering).toMatch(
      server.name === 'kafka'
        ? /^Kafka does not move existing records: (?!.*On Redis)/
        : /^On Redis, a topic's partition count is fixed when it is created: for 6 partitions, copy it to a new topic with `keyed topic migrate`/,
    )
  })

  it("keys analyze --sample takes each partition's share of its records, so a skewed topic's sample is skewed", async () => {
    const skewed = defineTopic(`${name}-skewed`, { partitions: 4 })
    await client
      .producer()
      .send(skewed, [
        ...Array.from({ length: 3000 }, (_, i) => ({ key: 'hot', value: { i } })),
        ...Array.from({ length: 1000 }, (_, i) => ({ key: `spread-${i}`, value: { i } })),
      ])
    const full = json(keyed(['--backend', server.url, 'keys', 'analyze', skewed.name, '--json']), analysisSchema)
    const args = ['--backend', server.url, 'keys', 'analyze', skewed.name, '--sample', '400', '--json']
    const sample = json(keyed(args), analysisSchema)
    for (const [i, p] of sample.perPartition.entries()) expect(p.share).toBeCloseTo(full.perPartition[i]!.share, 1)
    expect(sample.skew.maxOverMean).toBeGreaterThan(2)
    const check = keyed([...args, '--fail-on-skew', '1.5'])
    expect(check.status).toBe(2)
  })

  it("lag shows a group's committed position, end and lag per partition", async () => {
    const groupId = `${name}-billing`
    let handled = 0
    const consumer = client.consumer({ groupId, maxBatchSize: 100 })
    let stop!: () => void
    const enough = new Promise<void>((resolve) => (stop = resolve))
    await consumer.subscribe(
      orders,
      async () => {
        if (++handled === 2000) stop()
      },
      { fromBeginning: true },
    )
    await enough
    await consumer.close()
    await client.producer().send(orders, [{ key: 'late', value: { i: -1 } }])
    const l = json(keyed(['--backend', server.url, 'lag', groupId, orders.name, '--json']), lagSchema)
    expect(l.partitions).toHaveLength(4)
    expect(l.totalLag).toBe(1)
    expect(l.partitions.find((r) => r.lag === 1)!.partition).toBe(partitionFor('late', 4))
    expect(l.partitions.every((r) => r.committed !== undefined)).toBe(true)
    const all = json(keyed(['--backend', server.url, 'lag', groupId, '--json']), lagSchema)
    expect(all.partitions.map((r) => r.topic)).toEqual([orders.name, orders.name, orders.name, orders.name])
    const text = keyed(['--backend', server.url, 'lag', groupId, orders.name])
    expect(text.stdout).toMatch(new RegExp(`group '${groupId}': total lag 1`))
  })

  it('a missing topic is one line and exit 1', () => {
    const run = keyed(['--backend', server.url, 'keys', 'analyze', `${name}-absent`])
    expect(run.status).toBe(1)
    expect(run.stderr).toBe(
      `keyed: Topic '${name}-absent' does not exist on ${server.url}. Check the name and --backend.\n`,
    )
  })

  it('topic migrate refuses an existing target with records it did not copy, and leaves it as it was', async () => {
    const source = defineTopic(`${name}-src`, { partitions: 2 })
    const theirs = defineTopic(`${name}-theirs`, { partitions: 3 })
    const producer = client.producer()
    await producer.send(source, [{ key: 'a', value: { i: 1 } }])
    await producer.send(theirs, [{ key: 'b', value: { someone: 'else' } }])
    const run = keyed(['--backend', server.url, 'topic', 'migrate', source.name, theirs.name, '--partitions', '3'])
    expect(run.status).toBe(1)
    expect(run.stderr).toContain(`keyed: Topic '${theirs.name}' already holds records and group`)
    expect(await readTopic(client.backend, theirs.name)).toHaveLength(1)
  })

  it('topic migrate killed midway (SIGKILL) and run again loses nothing, doubles nothing and keeps per-key order', async () => {
    const source = defineTopic(`${name}-events`, { partitions: 3, retentionMs: 7 * 86_400_000 })
    const perKey = new Map<string, number>()
    const records = Array.from({ length: 30_000 }, (_, i) => {
      const key = `k-${(i * 7919) % 400}`
      const n = perKey.get(key) ?? 0
      perKey.set(key, n + 1)
      return { key, value: { key, n } }
    })
    const producer = client.producer()
    for (let i = 0; i < records.length; i += 5000) await producer.send(source, records.slice(i, i + 5000))
    const target = `${name}-events-v2`
    const groupId = `keyed-migrate.${source.name}.${target}`
    const args = [
      '--backend',
      server.url,
      'topic',
      'migrate',
      source.name,
      target,
      '--partitions',
      '5',
      '--batch',
      '100',
      '--json',
    ]
    const first = keyedAsync(args)
    // Kill it once it committed part of the copy.
    for (let i = 0; ; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const rows = await client.backend.committedOffsets!(groupId, [source.name]).catch(() => [])
      const lag = rows.reduce((sum, r) => sum + r.lag, 0)
      if (rows.some((r) => r.committed !== undefined) && lag > 0 && lag < records.length - 1000) break
      if (i > 600) throw new Error(`the migration made no progress: ${(await first.done).stderr}`)
    }
    first.child.kill('SIGKILL')
    const killed = await first.done
    expect(killed.status).toBe(null)
    const partial = (await readTopic(client.backend, target)).length
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(records.length)

    const second = json(keyed(args), migrateSchema)
    expect(second.created).toBe(false)
    expect(second.verification).toMatchObject({
      ok: true,
      sourceRecords: 30_000,
      targetRecords: 30_000,
      mismatchedKeys: 0,
    })
    expect(second.settings).toMatchObject({ partitions: 5, retentionMs: 7 * 86_400_000 })
    // Checked apart from the CLI's own verification: every key's values, in target order, are 0, 1, 2, … once each.
    const copied = await readTopic(client.backend, target)
    expect(copied).toHaveLength(30_000)
    const seen = new Map<string, number[]>()
    for (const r of copied) {
      const { key, n } = JSON.parse(Buffer.from(r.value!).toString('utf8')) as { key: string; n: number }
      expect(r.partition).toBe(partitionFor(key, 5))
      seen.set(key, [...(seen.get(key) ?? []), n])
    }
    for (const [key, count] of perKey) expect(seen.get(key)).toEqual(Array.from({ length: count }, (_, i) => i))
    const described = await client.backend.describeTopic(target)
    expect(described).toMatchObject({ partitions: 5, cleanupPolicy: 'delete' })
  })
})

describe('on kafka, a source written in transactions', () => {
  it("topic migrate finishes though each partition ends in a transaction's marker, an offset no record carries", async () => {
    const client = createClient({ backend: servers[0].backend() })
    clients.push(client)
    const source = defineTopic(unique('kafka-txn'), { partitions: 2 })
    await client.admin().ensureTopics([source])
    const raw = new kafkajs.Kafka({
      clientId: 'cli-txn',
      brokers: ['127.0.0.1:9092'],
      logLevel: kafkajs.logLevel.NOTHING,
    })
    const producer = raw.producer({ transactionalId: unique('cli-txn'), idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      for (const outcome of ['commit', 'abort', 'commit'] as const) {
        const txn = await producer.transaction()
        await txn.send({
          topic: source.name,
          messages: Array.from({ length: 6 }, (_, i) => ({ key: `k${i % 3}`, value: JSON.stringify({ i, outcome }) })),
        })
        await txn[outcome]()
      }
    } finally {
      await producer.disconnect()
    }
    const args = [
      '--backend',
      servers[0].url,
      'topic',
      'migrate',
      source.name,
      `${source.name}-v2`,
      '--partitions',
      '4',
    ]
    const m = json(keyed([...args, '--json']), migrateSchema)
    expect(m).toMatchObject({ copied: 12 })
    expect(m.verification).toMatchObject({ ok: true, keys: 3, sourceRecords: 12, targetRecords: 12 })
  })
})
