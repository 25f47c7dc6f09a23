import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { sleep, unique, waitFor } from '@keyed/sdk/testing'
import { kafka } from '../../src/index.js'
import { CLUSTER, TRANSPORT } from '../support/brokers.js'
import { runScript } from '../support/scripts.js'

describe('kafka faults: close with every broker down', () => {
  let down = false
  const thaw = () => {
    for (const node of [1, 2, 3]) runScript('kafka-cluster.sh', 'thaw', String(node))
    down = false
  }
  afterAll(() => {
    if (down) thaw()
  })

  it('a consumer closes within closeTimeoutMs plus the leave bound when no broker answers (frozen: connections open, no reply)', async () => {
    const topic = defineTopic(unique('close-down'), { partitions: 3, value: serdes.json<{ n: number }>() })
    const client = createClient({
      backend: kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing', closeTimeoutMs: 2000 }),
    })
    const seen: number[] = []
    try {
      await client.producer().send(topic, { key: 'k', value: { n: 1 } })
      const errors: unknown[] = []
      const consumer = client.consumer({ groupId: unique('close-down'), onError: (e) => void errors.push(e) })
      await consumer.subscribe(topic, (m) => void seen.push(m.value.n), { fromBeginning: true })
      await waitFor('the record', 30_000, () => seen.length === 1)
      // Its commit is done: the brokers go down under an idle member, which close() must still end.
      await sleep(1000)
      down = true
      for (const node of [1, 2, 3]) runScript('kafka-cluster.sh', 'freeze', String(node))
      const started = Date.now()
      await consumer.close()
      expect(Date.now() - started).toBeLessThan(2000 + 5000 + 1000)
      expect(errors).toEqual([])
      await client.close()
    } finally {
      if (down) thaw()
    }
  }, 180_000)

  it('a producer with a send in flight closes within closeTimeoutMs plus the leave bound when no broker answers', async () => {
    const topic = unique('close-down-send')
    const backend = kafka({ ...TRANSPORT, brokers: CLUSTER, logLevel: 'nothing', closeTimeoutMs: 2000 })
    try {
      await backend.createTopic({
        name: topic,
        partitions: 3,
        cleanupPolicy: 'delete',
        retentionMs: undefined,
        retentionBytes: undefined,
        deleteRetentionMs: undefined,
        minCompactionLagMs: undefined,
        config: {},
      })
      const producer = backend.producer({
        idempotent: true,
        acks: 'all',
        maxInFlight: 1,
        retries: 5,
        clientId: undefined,
      })
      const record = (partition: number) => ({
        topic,
        partition,
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        headers: {},
        timestamp: Date.now(),
      })
      await producer.send([record(0), record(1), record(2)])
      down = true
      for (const node of [1, 2, 3]) runScript('kafka-cluster.sh', 'freeze', String(node))
      // kafkajs retries this send for minutes against brokers that never answer.
      const sending = producer.send([record(0), record(1), record(2)]).catch((e: unknown) => e)
      const started = Date.now()
      await producer.close()
      expect(Date.now() - started).toBeLessThan(2000 + 5000 + 1000)
      void sending
    } finally {
      if (down) thaw()
      await backend.close()
    }
  }, 180_000)
})
