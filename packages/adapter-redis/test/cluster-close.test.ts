import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic } from '@keyed/sdk'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { redis } from '../src/index.js'
import { CLUSTER_BASE, CLUSTER_URLS, runPrefix, uniqueTopic } from './helpers.js'
import { clusterScript } from './cluster.js'

const SEND_TIMEOUT_MS = 1000
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1000

const timed = async (what: Promise<unknown>) => {
  const started = Date.now()
  await what
  return Date.now() - started
}

/** Sends the signal to every node of the run's test cluster (scripts/redis-cluster.sh keeps each node's pid). */
function signalAll(signal: NodeJS.Signals): void {
  const state = process.env.KEYED_REDIS_CLUSTER_STATE ?? `/tmp/keyed-redis-cluster-${CLUSTER_BASE}`
  for (let port = CLUSTER_BASE; port < CLUSTER_BASE + 6; port++)
    process.kill(Number(readFileSync(`${state}/${port}/redis.pid`, 'utf8')), signal)
}

describe('redis cluster close is bounded by sendTimeoutMs', () => {
  it('closes a consumer, a producer with a send in flight and the client while every node is frozen', async () => {
    const client = createClient({
      backend: redis({ cluster: CLUSTER_URLS, keyPrefix: runPrefix(), sendTimeoutMs: SEND_TIMEOUT_MS, blockMs: 200 }),
    })
    const topic = defineTopic(uniqueTopic('close-frozen'), { partitions: 6 })
    const got: unknown[] = []
    const consumer = client.consumer({ groupId: 'g', sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 })
    await consumer.subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
    const producer = client.producer()
    await producer.send(topic, [
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    await waitFor('both records', 5000, () => got.length === 2)
    signalAll('SIGSTOP')
    try {
      await sleep(100)
      const inFlight = producer.send(topic, { key: 'a', value: 3 }).catch((e: unknown) => e)
      expect(await timed(consumer.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
      expect(await timed(producer.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
      expect(await inFlight).toBeInstanceOf(Error)
      expect(await timed(client.close())).toBeLessThan(SEND_TIMEOUT_MS + SLACK_MS)
    } finally {
      signalAll('SIGCONT')
      clusterScript('wait')
    }
  })
})
