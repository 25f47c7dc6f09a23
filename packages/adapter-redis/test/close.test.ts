import { createClient, defineTopic } from '@keyed/sdk'
import type { PartitionBatch } from '@keyed/sdk/backend'
import { describe, expect, it } from 'vitest'
import { redis } from '../src/index.js'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { privateServer, uniqueTopic } from './helpers.js'

const SEND_TIMEOUT_MS = 1000
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1000

const timed = async (what: Promise<unknown>) => {
  const started = Date.now()
  await what
  return Date.now() - started
}

describe('redis close is bounded by sendTimeoutMs', () => {
  for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
    it(`closes a consumer, a producer with a send in flight and the client while the server is ${signal === 'SIGSTOP' ? 'frozen' : 'gone'}`, async () => {
      const server = await privateServer()
      try {
        const client = createClient({
          backend: redis({ url: server.url, sendTimeoutMs: SEND_TIMEOUT_MS, blockMs: 200 }),
        })
        const topic = defineTopic(uniqueTopic('close-down'), { partitions: 2 })
        const got: unknown[] = []
        const consumer = client.consumer({ groupId: 'g', sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 })
        await consumer.subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
        const producer = client.producer()
        await producer.send(topic, [
          { key: 'a', value: 1 },
          { key: 'b', value: 2 },
        ])
        await waitFor('both records', 5000, () => got.length === 2)
        server.signal(signal)
        await sleep(100)
        const inFlight = producer.send(topic, { key: 'a', value: 3 }).catch((e: unknown) => e)
        expect(await timed(consumer.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
        expect(await timed(producer.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
        expect(await inFlight).toBeInstanceOf(Error)
        expect(await timed(client.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
      } finally {
        server.signal('SIGCONT')
        await server.stop()
      }
    }, 30_000)
  }

  it('ends a member close within sendTimeoutMs while a batch never returns, gives a second close the same end, and frees the partition at once', async () => {
    const server = await privateServer()
    try {
      const backend = redis({ url: server.url, sendTimeoutMs: SEND_TIMEOUT_MS, blockMs: 200 })
      const name = uniqueTopic('close-stuck')
      await backend.createTopic({
        name,
        partitions: 1,
        cleanupPolicy: 'delete',
        retentionMs: undefined,
        retentionBytes: undefined,
        deleteRetentionMs: undefined,
        minCompactionLagMs: undefined,
        config: {},
      })
      await backend.producer({ idempotent: true, acks: 'all', maxInFlight: 1, retries: 0, clientId: undefined }).send([
        {
          topic: name,
          partition: 0,
          key: Buffer.from('k'),
          value: Buffer.from('1'),
          headers: {},
          timestamp: Date.now(),
        },
      ])
      // A long lease: a new owner that gets the partition sooner got it because the stuck member let go.
      const membership = {
        clientId: undefined,
        subscriptions: [{ topic: name, fromBeginning: true }],
        sessionTimeoutMs: 20_000,
        heartbeatIntervalMs: 200,
        maxBatchSize: 10,
      }
      let stuck = 0
      const member = backend.consumer({
        groupId: 'g',
        ...membership,
        onBatch: () => (stuck++, new Promise<void>(() => {})),
      })
      await member.start()
      await waitFor('the batch that never returns', 5000, () => stuck === 1)

      let secondSettled = false
      const closing = Date.now()
      const first = member.close()
      const second = member.close().then(() => (secondSettled = true))
      await sleep(SEND_TIMEOUT_MS / 2)
      expect(secondSettled).toBe(false)
      await first
      const elapsed = Date.now() - closing
      expect(elapsed).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS - 50)
      expect(elapsed).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
      await second

      const next: PartitionBatch[] = []
      const other = redis({ url: server.url, sendTimeoutMs: SEND_TIMEOUT_MS, blockMs: 200 })
      const taking = Date.now()
      const successor = other.consumer({ groupId: 'g', ...membership, onBatch: async (b) => void next.push(b) })
      await successor.start()
      await waitFor('the successor to get the record', 10_000, () => next.length > 0)
      expect(Date.now() - taking).toBeLessThan(5000)
      await successor.close()
      expect(await timed(Promise.all([backend.close(), other.close()]))).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
    } finally {
      await server.stop()
    }
  }, 30_000)
})
