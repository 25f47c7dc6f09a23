import { describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { unique } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'

describe('kafka table reader', () => {
  it('is ready when a partition ends in a transaction marker, an offset no message carries', async () => {
    const topic = defineTopic(unique('table-txn'), {
      partitions: 2,
      cleanupPolicy: 'compact',
      value: serdes.json<{ v: number }>(),
    })
    const client = createClient({ backend: testKafka() })
    const raw = new kafkajs.Kafka({ clientId: 'table-txn', brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING })
    const producer = raw.producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 })
    try {
      await client.admin().ensureTopics([topic])
      await producer.connect()
      const txn = await producer.transaction()
      await txn.send({
        topic: topic.name,
        messages: [0, 1].map((partition) => ({
          key: `k${partition}`,
          value: JSON.stringify({ v: partition }),
          partition,
        })),
      })
      await txn.commit()
      // Each partition: the record at offset 0 and the commit marker at 1, so the end offset is 2 once the coordinator
      // wrote the markers (after commit() returned; until then the end is the last stable offset, 0).
      await expect
        .poll(async () => (await client.backend.endOffsets!(topic.name)).map((e) => e.offset), { timeout: 10_000 })
        .toEqual(['2', '2'])
      const table = client.table(topic)
      await table.ready()
      expect(Object.fromEntries(table)).toEqual({ k0: { v: 0 }, k1: { v: 1 } })
    } finally {
      await producer.disconnect().catch(() => undefined)
      await client.close()
    }
  })
})
