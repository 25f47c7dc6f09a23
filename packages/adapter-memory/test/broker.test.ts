import { createClient, defineTopic, FencedError } from '@keyed/sdk'
import { describe, expect, it } from 'vitest'
import { memory, MemoryBroker } from '../src/index.js'

describe('memory broker', () => {
  it('is shared by every memory() without a broker, like clients of one cluster', async () => {
    const topic = defineTopic(`shared-${Date.now()}`, { partitions: 2 })
    await createClient({ backend: memory() }).producer().send(topic, { key: 'k', value: 1 })
    expect(await createClient({ backend: memory() }).admin().describeTopic(topic)).toMatchObject({ partitions: 2 })
    expect(await createClient({ backend: memory({ broker: new MemoryBroker() }) }).admin().describeTopic(topic)).toBeUndefined()
  })

  it('refuses the commit of a member that left the group', async () => {
    const broker = new MemoryBroker()
    const topic = defineTopic('fenced', { partitions: 1 })
    const backend = memory({ broker })
    await createClient({ backend }).admin().ensureTopics([topic])
    const member = backend.consumer({ groupId: 'g', clientId: undefined, subscriptions: [{ topic: 'fenced', fromBeginning: true }], onBatch: async () => {}, sessionTimeoutMs: 1000, heartbeatIntervalMs: 100, maxBatchSize: 10 })
    await member.start()
    await member.commit([{ topic: 'fenced', partition: 0, offset: '0' }])
    await member.close()
    await expect(member.commit([{ topic: 'fenced', partition: 0, offset: '1' }])).rejects.toBeInstanceOf(FencedError)
    expect(broker.group('g').committedOffset('fenced', 0)).toBe(1)
  })

  it('runs its cleaner on a clock it is given', async () => {
    let now = 1_000_000
    const broker = new MemoryBroker({ now: () => now, cleanerIntervalMs: 1_000_000 })
    const topic = defineTopic('clocked', { retentionMs: 1000, value: { '~standard': { version: 1, vendor: 'x', validate: (v: unknown) => ({ value: v as number }) } } })
    const producer = createClient({ backend: memory({ broker }) }).producer()
    await producer.send(topic, { key: 'k', value: 1, timestamp: now })
    now += 2000
    broker.runCleaner()
    expect(broker.offsets('clocked', 0)).toEqual({ start: 1, end: 1 })
    broker.close()
  })
})
