import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { createClient, defineTopic, TopicMismatchError } from '@keyed/sdk'
import { unique } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'
import { rawAdmin, topicConfig } from './support/raw.js'

describe('kafka topics', () => {
  let admin: Admin
  beforeAll(async () => void (admin = await rawAdmin()))
  afterAll(() => admin.disconnect())

  it('creates declared topics with their partitions and retention, compaction and passthrough configs', async () => {
    const topic = defineTopic(unique('provision'), {
      partitions: 5,
      cleanupPolicy: 'compact,delete',
      retentionMs: 3_600_000,
      retentionBytes: 10_485_760,
      deleteRetentionMs: 1234,
      minCompactionLagMs: 567,
      config: { 'segment.ms': '60000', 'max.message.bytes': '2097152' },
    })
    const client = createClient({ backend: testKafka() })
    try {
      const [description] = await client.admin().ensureTopics([topic])
      expect(description).toEqual({ name: topic.name, partitions: 5, cleanupPolicy: 'compact,delete' })
    } finally {
      await client.close()
    }
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic.name] })).topics
    expect(metadata?.partitions).toHaveLength(5)
    const config = await topicConfig(admin, topic.name)
    expect(config['cleanup.policy']?.split(',').sort()).toEqual(['compact', 'delete'])
    expect(config).toMatchObject({
      'retention.ms': '3600000',
      'retention.bytes': '10485760',
      'delete.retention.ms': '1234',
      'min.compaction.lag.ms': '567',
      'segment.ms': '60000',
      'max.message.bytes': '2097152',
    })
  })

  it("describes a topic made outside keyed with the broker's partitions and cleanup.policy, and undefined for none", async () => {
    const name = unique('outside')
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: 7, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    })
    const backend = testKafka()
    try {
      expect(await backend.describeTopic(name)).toEqual({ name, partitions: 7, cleanupPolicy: 'compact' })
      expect(await backend.describeTopic(unique('absent'))).toBeUndefined()
    } finally {
      await backend.close()
    }
  })

  it('reports a topic whose real cleanup.policy or partition count differs from its declaration, naming both values', async () => {
    const name = unique('drift')
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
    })
    const client = createClient({ backend: testKafka() })
    try {
      const compacted = defineTopic(name, { partitions: 2, cleanupPolicy: 'compact' })
      const policy = await client
        .producer()
        .send(compacted, { key: 'k', value: 1 })
        .catch((e: unknown) => e)
      expect(policy).toBeInstanceOf(TopicMismatchError)
      expect((policy as Error).message).toContain('cleanupPolicy=compact')
      expect((policy as Error).message).toContain('cleanupPolicy=delete')
      const wider = defineTopic(name, { partitions: 6 })
      const partitions = await client
        .admin()
        .ensureTopics([wider])
        .catch((e: unknown) => e)
      expect(partitions).toBeInstanceOf(TopicMismatchError)
      expect((partitions as Error).message).toMatch(/partitions=6.*partitions=2/)
    } finally {
      await client.close()
    }
  })
})
