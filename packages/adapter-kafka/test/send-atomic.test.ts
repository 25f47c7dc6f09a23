import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { createClient, defineTopic, isKeyedError, RecordTooLargeError } from '@keyed/sdk'
import { unique } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'
import { rawAdmin } from './support/raw.js'

const LIMIT = 10_000

describe('kafka send of a call over max.message.bytes', () => {
  let admin: Admin
  beforeAll(async () => void (admin = await rawAdmin()))
  afterAll(() => admin.disconnect())

  const logSize = async (topic: string) =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0)

  it('refuses the whole call, naming the record and the limit, when one record of a multi-partition call is too large', async () => {
    const topic = defineTopic(unique('too-large'), { partitions: 3, config: { 'max.message.bytes': String(LIMIT) } })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      const small = 'x'.repeat(100)
      const error = await client
        .producer()
        .send(topic, [
          { key: 'a', value: small, partition: 0 },
          { key: 'b', value: small, partition: 1 },
          { key: 'c', value: 'x'.repeat(2 * LIMIT), partition: 2 },
        ])
        .catch((e: unknown) => e)
      expect(await logSize(topic.name)).toBe(0)
      expect(isKeyedError(error, 'RECORD_TOO_LARGE')).toBe(true)
      expect(error).toBeInstanceOf(RecordTooLargeError)
      expect(error).toMatchObject({ index: 2, topic: topic.name, retriable: false })
      expect((error as Error).message).toMatch(
        new RegExp(`record 2 of the call.*max\\.message\\.bytes of ${LIMIT}.*Nothing of this call was sent`),
      )
    } finally {
      await client.close()
    }
  })

  it('refuses a call whose records for one partition only together exceed the limit', async () => {
    const topic = defineTopic(unique('too-large-sum'), {
      partitions: 2,
      config: { 'max.message.bytes': String(LIMIT) },
    })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      const value = 'y'.repeat(LIMIT / 3)
      const records = [0, 1, 0, 0].map((partition, i) => ({ key: `k${i}`, value, partition }))
      const error = await client
        .producer()
        .send(topic, records)
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', index: 3 })
      expect((error as Error).message).toMatch(/partition 0.*smaller calls/)
      expect(await logSize(topic.name)).toBe(0)
      // Just under the limit goes through: the estimate is not stricter than the broker.
      await client.producer().send(topic, records.slice(0, 3))
      expect(await logSize(topic.name)).toBe(3)
    } finally {
      await client.close()
    }
  })

  it('reports a compressed batch the broker refuses as RecordTooLargeError too', async () => {
    const topic = defineTopic(unique('too-large-zstd'), {
      partitions: 1,
      config: { 'max.message.bytes': String(LIMIT) },
    })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      // Random bytes do not compress.
      const value = Buffer.from(Array.from({ length: 2 * LIMIT }, () => Math.floor(Math.random() * 256))).toString(
        'base64',
      )
      const error = await client
        .producer({ compression: 'zstd' })
        .send(topic, { key: 'k', value })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false })
      expect((error as Error).message).toContain('max.message.bytes')
    } finally {
      await client.close()
    }
  })
})
