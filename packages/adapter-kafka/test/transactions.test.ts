import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import type { BackendConsumer } from '@keyed/sdk/backend'
import { unique } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'

// A transaction's commit or abort marker takes an offset that no record a consumer sees carries: a group that commits
// its last record's offset + 1 stays behind the partition's end by a marker per transaction (lag 1 for good, and a
// `keyed topic migrate` waiting for lag 0 never ends). Java's consumer commits past them; so must keyed.
describe('kafka transactions', () => {
  const raw = new kafkajs.Kafka({ clientId: 'txn-test', brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING })
  const producer = raw.producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 })
  const connected = producer.connect()
  afterAll(() => producer.disconnect())

  /** One transaction of `n` records per partition (keys k0..k2), committed or aborted. */
  async function transaction(topic: string, round: number, outcome: 'commit' | 'abort', n = 3) {
    await connected
    const txn = await producer.transaction()
    await txn.send({
      topic,
      messages: [0, 1].flatMap((partition) =>
        Array.from({ length: n }, (_, i) => ({
          key: `k${(i + partition) % 3}`,
          value: JSON.stringify({ round, i }),
          partition,
        })),
      ),
    })
    await txn[outcome]()
  }

  const value = serdes.json<{ round: number; i: number }>()

  it('a consumer reaches lag 0 past markers, in batches cut by maxBatchSize, with per-key concurrency, and when idle', async () => {
    const topic = defineTopic(unique('txn-lag'), { partitions: 2, value })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      await transaction(topic.name, 0, 'commit')
      await transaction(topic.name, 1, 'abort')
      await transaction(topic.name, 2, 'commit')
      const rounds: number[] = []
      const consumer = client.consumer({ groupId: unique('txn-g'), concurrency: 4, maxBatchSize: 2 })
      await consumer.subscribe(topic, (m) => void rounds.push(m.value.round), { fromBeginning: true })
      // Each partition: 3 records and a marker per transaction, so its end is 12.
      await expect
        .poll(async () => (await consumer.lag()).partitions.map((p) => [p.committed, p.end]), { timeout: 20_000 })
        .toEqual([
          ['12', '12'],
          ['12', '12'],
        ])
      expect(rounds.sort()).toEqual([0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2])
      // Caught up, then an aborted transaction: a fetch of nothing but aborted records and a marker, no record to handle.
      await transaction(topic.name, 3, 'abort')
      await expect.poll(async () => (await consumer.lag()).total, { timeout: 20_000 }).toBe(0)
      expect((await consumer.lag()).partitions.map((p) => p.end)).toEqual(['16', '16'])
      expect(rounds).toHaveLength(12)
      await consumer.close()
    } finally {
      await client.close()
    }
  })

  it('a group whose position is right before markers moves past them without handling a record', async () => {
    const topic = defineTopic(unique('txn-idle'), { partitions: 2, value })
    const groupId = unique('txn-g')
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      await transaction(topic.name, 0, 'commit')
      // Where an older keyed left its groups: at the marker, after the last record.
      await client.admin().resetOffsets(groupId, topic, { 0: '3', 1: '3' })
      const handled: unknown[] = []
      const consumer = client.consumer({ groupId })
      await consumer.subscribe(topic, (m) => void handled.push(m.value))
      await expect.poll(async () => (await consumer.lag()).total, { timeout: 20_000 }).toBe(0)
      expect(handled).toEqual([])
      await consumer.close()
    } finally {
      await client.close()
    }
  })

  it("a copy the way `keyed topic migrate` makes it (commit each batch's last record, wait for lag 0) completes", async () => {
    const topic = defineTopic(unique('txn-copy'), { partitions: 2, value })
    const groupId = unique('txn-copy-g')
    const client = createClient({ backend: testKafka() })
    const { backend } = client
    try {
      await client.admin().ensureTopics([topic])
      await transaction(topic.name, 0, 'commit', 5)
      await transaction(topic.name, 1, 'abort', 5)
      await transaction(topic.name, 2, 'commit', 5)
      let copied = 0
      const member: BackendConsumer = backend.consumer({
        groupId,
        clientId: 'txn-copy',
        subscriptions: [{ topic: topic.name, fromBeginning: true }],
        onBatch: async (batch) => {
          const last = batch.records[batch.records.length - 1]
          copied += batch.records.length
          if (last && batch.isActive())
            await member.commit([{ topic: topic.name, partition: batch.partition, offset: last.offset }])
        },
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1000,
        maxBatchSize: 3,
      })
      await member.start()
      try {
        const lag = async () =>
          (await backend.committedOffsets!(groupId, [topic.name])).reduce((sum, r) => sum + r.lag, 0)
        await expect.poll(lag, { timeout: 20_000 }).toBe(0)
        expect(copied).toBe(20)
      } finally {
        await member.close()
      }
    } finally {
      await client.close()
    }
  })
})
