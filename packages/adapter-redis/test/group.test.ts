import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, partitionFor, type Client } from '@keyed/sdk'
import { BackendUnavailableError, TopicMismatchError } from '@keyed/sdk'
import { redis } from '../src/index.js'
import { missing, orderViolations, sleep, waitFor } from '@keyed/sdk/testing'
import { Redis } from 'ioredis'
import { backendFactory, cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

const prefix = runPrefix()
const backend = backendFactory(prefix)
const clients: Client[] = []
const client = () => {
  const c = createClient({ backend: backend() })
  clients.push(c)
  return c
}
const fast = { sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 }

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await cleanup(prefix)
})

describe('redis adapter through the SDK', () => {
  it('delivers every record to the partition its key hashes to, with stream ids as offsets', async () => {
    const topic = defineTopic(uniqueTopic('roundtrip'), { partitions: 4 })
    const c = client()
    const got: Array<{ key: string; partition: number; offset: string; value: unknown }> = []
    const consumer = c.consumer({ groupId: 'g', ...fast })
    await consumer.subscribe(
      topic,
      (m) => void got.push({ key: m.key, partition: m.partition, offset: m.offset, value: m.value }),
      { fromBeginning: true },
    )
    const producer = c.producer()
    const sent = await producer.send(
      topic,
      Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 17}`, value: { i } })),
    )
    await waitFor('200 records', 20_000, () => got.length >= 200)
    expect(got).toHaveLength(200)
    for (const g of got) expect(g.partition).toBe(partitionFor(g.key, 4))
    expect(sent[0]!.offset).toMatch(/^\d+-\d+$/)
    expect(new Set(got.map((g) => g.offset))).toEqual(new Set(sent.map((s) => s.offset)))
  })

  it('keeps per-key order across several members and never hands a partition to two at once', async () => {
    const topic = defineTopic(uniqueTopic('order'), { partitions: 6 })
    const seen: Array<{ key: string; seq: number }> = []
    const busy = new Map<number, string>()
    let overlaps = 0
    const members = ['a', 'b', 'c'].map((name) => {
      const consumer = client().consumer({ groupId: 'order', ...fast })
      return consumer.subscribe(
        topic,
        async (m) => {
          const other = busy.get(m.partition)
          if (other && other !== name) overlaps++
          busy.set(m.partition, name)
          seen.push(m.value as { key: string; seq: number })
          if (Math.random() < 0.05) await sleep(1)
          busy.delete(m.partition)
        },
        { fromBeginning: true },
      )
    })
    await Promise.all(members)
    const producer = client().producer()
    const keys = Array.from({ length: 30 }, (_, k) => `key-${k}`)
    const perKey = 40
    for (let seq = 0; seq < perKey; seq++) {
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: { key, seq } })),
      )
    }
    await waitFor('all records', 20_000, () => missing(seen, keys, perKey).length === 0)
    expect(orderViolations(seen)).toEqual([])
    expect(overlaps).toBe(0)
  })

  it('resumes after the last commit: a new member of the group gets only what was not handled', async () => {
    const topic = defineTopic(uniqueTopic('resume'), { partitions: 2 })
    const c1 = client()
    const first: number[] = []
    const consumer = c1.consumer({ groupId: 'resume', ...fast })
    await consumer.subscribe(topic, (m) => void first.push((m.value as { i: number }).i), { fromBeginning: true })
    const producer = client().producer()
    await producer.send(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: { i } })),
    )
    await waitFor('first 50', 20_000, () => first.length >= 50)
    await consumer.close()
    await producer.send(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: { i: 50 + i } })),
    )
    const second: number[] = []
    const again = client().consumer({ groupId: 'resume', ...fast })
    await again.subscribe(topic, (m) => void second.push((m.value as { i: number }).i), { fromBeginning: true })
    await waitFor('next 50', 20_000, () => second.length >= 50)
    await sleep(300)
    expect(first.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(second.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 50 + i))
  })

  it('starts a group without fromBeginning at the records produced after it joined', async () => {
    const topic = defineTopic(uniqueTopic('latest'), { partitions: 2 })
    const producer = client().producer()
    await producer.send(topic, { key: 'old', value: 'old' })
    const got: unknown[] = []
    await client()
      .consumer({ groupId: 'latest', ...fast })
      .subscribe(topic, (m) => void got.push(m.value))
    await producer.send(topic, { key: 'new', value: 'new' })
    await waitFor('new record', 20_000, () => got.length >= 1)
    await sleep(200)
    expect(got).toEqual(['new'])
  })

  it('says so on the logger when the group is destroyed under a running member, and handles the stream again from its start', async () => {
    const topic = defineTopic(uniqueTopic('destroyed'), { partitions: 1 })
    const warnings: string[] = []
    const quiet = () => undefined
    const c = createClient({
      backend: backend(),
      logger: { debug: quiet, info: quiet, warn: (_obj, msg) => void warnings.push(String(msg)), error: quiet },
    })
    clients.push(c)
    const seen: number[] = []
    await c
      .consumer({ groupId: 'g-destroyed', ...fast })
      .subscribe(topic, (m) => void seen.push((m.value as { i: number }).i), { fromBeginning: true })
    const producer = c.producer()
    await producer.send(
      topic,
      [1, 2, 3].map((i) => ({ key: `k${i}`, value: { i } })),
    )
    await waitFor('the first records', 10_000, () => seen.length >= 3)
    const raw = new Redis(REDIS_URL)
    try {
      await raw.xgroup('DESTROY', `${prefix}{${topic.name}:0}:log`, 'g-destroyed')
    } finally {
      raw.disconnect()
    }
    await producer.send(topic, [{ key: 'k4', value: { i: 4 } }])
    // Nothing is skipped: the group starts over at the stream's first entry, so 1–3 come again before 4.
    await waitFor('the records again and the new one', 10_000, () => seen.includes(4))
    expect(seen).toEqual([1, 2, 3, 1, 2, 3, 4])
    expect(warnings.join('\n')).toMatch(/consumer group 'g-destroyed' of .*\[0\] was gone from Redis/)
  })

  it('rebalances when members join and leave, handing over partitions without loss', async () => {
    const topic = defineTopic(uniqueTopic('rebalance'), { partitions: 4 })
    const byMember = new Map<string, Set<number>>()
    const seen: Array<{ key: string; seq: number }> = []
    const handler = (name: string) => (m: { partition: number; value: unknown }) => {
      const set = byMember.get(name) ?? new Set<number>()
      byMember.set(name, set)
      set.add(m.partition)
      seen.push(m.value as { key: string; seq: number })
    }
    const a = client().consumer({ groupId: 'rb', ...fast })
    await a.subscribe(topic, handler('a'), { fromBeginning: true })
    const producer = client().producer()
    let seq = 0
    const produce = async (rounds: number) => {
      for (let r = 0; r < rounds; r++, seq++) {
        await producer.send(
          topic,
          Array.from({ length: 8 }, (_, k) => ({ key: `key-${k}`, value: { key: `key-${k}`, seq } })),
        )
        await sleep(20)
      }
    }
    await produce(10)
    const b = client().consumer({ groupId: 'rb', ...fast })
    await b.subscribe(topic, handler('b'), { fromBeginning: true })
    await produce(40)
    await waitFor('b to own partitions', 20_000, () => (byMember.get('b')?.size ?? 0) >= 1)
    await a.close()
    byMember.get('b')!.clear()
    await produce(30)
    const keys = Array.from({ length: 8 }, (_, k) => `key-${k}`)
    await waitFor('all records', 20_000, () => missing(seen, keys, seq).length === 0)
    expect(orderViolations(seen)).toEqual([])
    expect(byMember.get('b')!.size).toBe(4)
  })

  it('trims a partition to about retentionBytes of records, keeping the newest', async () => {
    const topic = defineTopic(uniqueTopic('size'), { partitions: 1, retentionBytes: 4000 })
    const producer = client().producer()
    const value = 'x'.repeat(80)
    const sent = await producer.send(
      topic,
      Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: { i, value } })),
    )
    const got: number[] = []
    await waitFor('the cleaner to trim', 20_000, async () => {
      got.length = 0
      const reader = client().consumer({ groupId: uniqueTopic('size-reader'), ...fast })
      await reader.subscribe(topic, (m) => void got.push((m.value as { i: number }).i), { fromBeginning: true })
      await waitFor('the newest record', 5000, () => got.includes(199))
      await reader.close()
      return got.length < 100
    })
    // About 4000 bytes of ~110-byte entries: a few dozen survive, and they are the newest.
    expect(got.length).toBeGreaterThan(20)
    expect(got.length).toBeLessThan(50)
    expect(Math.min(...got)).toBe(200 - got.length)
    expect(sent).toHaveLength(200)
  })

  it('fails with BackendUnavailableError within connectTimeoutMs when nothing listens', async () => {
    const dead = redis({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 })
    const started = Date.now()
    await expect(dead.describeTopic('x')).rejects.toBeInstanceOf(BackendUnavailableError)
    expect(Date.now() - started).toBeLessThan(3000)
    await dead.close()
  })

  it('stores topic metadata in Redis so a differing declaration is refused', async () => {
    const name = uniqueTopic('meta')
    await client()
      .admin()
      .ensureTopics([defineTopic(name, { partitions: 3 })])
    const other = client()
    expect(await other.admin().describeTopic(name)).toEqual({ name, partitions: 3, cleanupPolicy: 'delete' })
    await expect(
      other.producer().send(defineTopic(name, { partitions: 4 }), { key: 'k', value: 1 }),
    ).rejects.toBeInstanceOf(TopicMismatchError)
    await expect(
      client()
        .producer()
        .send(defineTopic(name, { partitions: 3, cleanupPolicy: 'compact' }), { key: 'k', value: 1 }),
    ).rejects.toBeInstanceOf(TopicMismatchError)
  })
})
