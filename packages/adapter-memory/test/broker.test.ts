import { createClient, defineTopic, FencedError } from '@keyed/sdk'
import { describe, expect, it } from 'vitest'
import { memory, MemoryBroker } from '../src/index.js'

describe('memory broker', () => {
  it('is shared by every memory() without a broker, like clients of one cluster', async () => {
    const topic = defineTopic(`shared-${Date.now()}`, { partitions: 2 })
    await createClient({ backend: memory() }).producer().send(topic, { key: 'k', value: 1 })
    expect(await createClient({ backend: memory() }).admin().describeTopic(topic)).toMatchObject({ partitions: 2 })
    expect(
      await createClient({ backend: memory({ broker: new MemoryBroker() }) })
        .admin()
        .describeTopic(topic),
    ).toBeUndefined()
  })

  it('refuses the commit of a member that left the group', async () => {
    const broker = new MemoryBroker()
    const topic = defineTopic('fenced', { partitions: 1 })
    const backend = memory({ broker })
    await createClient({ backend }).admin().ensureTopics([topic])
    const member = backend.consumer({
      groupId: 'g',
      clientId: undefined,
      subscriptions: [{ topic: 'fenced', fromBeginning: true }],
      onBatch: async () => {},
      sessionTimeoutMs: 1000,
      heartbeatIntervalMs: 100,
      maxBatchSize: 10,
    })
    await member.start()
    await member.commit([{ topic: 'fenced', partition: 0, offset: '0' }])
    await member.close()
    await expect(member.commit([{ topic: 'fenced', partition: 0, offset: '1' }])).rejects.toBeInstanceOf(FencedError)
    expect(broker.group('g').committedOffset('fenced', 0)).toBe(1)
  })

  it('runs its cleaner on a clock it is given', async () => {
    let now = 1_000_000
    const broker = new MemoryBroker({ now: () => now, cleanerIntervalMs: 1_000_000 })
    const topic = defineTopic('clocked', {
      retentionMs: 1000,
      value: { '~standard': { version: 1, vendor: 'x', validate: (v: unknown) => ({ value: v as number }) } },
    })
    const producer = createClient({ backend: memory({ broker }) }).producer()
    await producer.send(topic, { key: 'k', value: 1, timestamp: now })
    now += 2000
    broker.runCleaner()
    expect(broker.offsets('clocked', 0)).toEqual({ start: 1, end: 1 })
    broker.close()
  })
})

describe('memory consumer group', () => {
  it('expels a member stuck in a handler past its session timeout and fences its late commit', async () => {
    const broker = new MemoryBroker()
    const topic = defineTopic('stuck', { partitions: 2 })
    const producer = createClient({ backend: memory({ broker }) }).producer()
    let release!: () => void
    const stuck = new Promise<void>((resolve) => (release = resolve))
    const seenByA: number[] = []
    const a = createClient({ backend: memory({ broker }) }).consumer({
      groupId: 'g',
      sessionTimeoutMs: 200,
      onError: () => {},
    })
    await a.subscribe(
      topic,
      async (m) => {
        seenByA.push(m.partition)
        await stuck
      },
      { fromBeginning: true },
    )
    await producer.send(topic, [
      { key: 'x', value: 1, partition: 0 },
      { key: 'y', value: 2, partition: 1 },
    ])
    while (seenByA.length < 2) await new Promise((r) => setTimeout(r, 5))

    const seenByB: number[] = []
    const b = createClient({ backend: memory({ broker }) }).consumer({ groupId: 'g', sessionTimeoutMs: 200 })
    const started = Date.now()
    await b.subscribe(topic, (m) => void seenByB.push(m.partition), { fromBeginning: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    while (seenByB.length < 2) await new Promise((r) => setTimeout(r, 5))
    expect([...seenByB].sort()).toEqual([0, 1])
    await producer.send(topic, [
      { key: 'x', value: 3, partition: 0 },
      { key: 'x', value: 4, partition: 0 },
    ])
    while (seenByB.length < 4) await new Promise((r) => setTimeout(r, 5))
    await new Promise((r) => setTimeout(r, 20))
    expect(broker.group('g').committedOffset('stuck', 0)).toBe(3)
    release()
    await new Promise((r) => setTimeout(r, 20))
    // A's late commit of offset 0 was fenced: it would have moved the group back to 1.
    expect(broker.group('g').committedOffset('stuck', 0)).toBe(3)
    await b.close()
  })
})
