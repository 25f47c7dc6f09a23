import { createClient, defineTopic, isKeyedError } from '@keyed/sdk'
import { describe, expect, it } from 'vitest'
import { redis } from '../src/index.js'
import { privateServer, uniqueTopic } from './helpers.js'

describe('redis outage', () => {
  it('fails a send with a retriable TimeoutError after sendTimeoutMs, and closes, instead of hanging while the server is gone', async () => {
    const server = await privateServer()
    try {
      const client = createClient({ backend: redis({ url: server.url, sendTimeoutMs: 800 }) })
      const topic = defineTopic(uniqueTopic('outage'), { partitions: 2 })
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 1 })
      await server.stop()
      const started = Date.now()
      const error = await producer.send(topic, { key: 'k', value: 2 }).catch((e: unknown) => e)
      expect(isKeyedError(error, 'TIMEOUT')).toBe(true)
      expect((error as Error & { retriable: boolean }).retriable).toBe(true)
      expect((error as Error).message).toMatch(/did not finish within 800 ms\. .*redis\(\{ sendTimeoutMs \}\)/)
      expect(Date.now() - started).toBeLessThan(5000)
      // close() waits for a graceful end at most sendTimeoutMs, then drops its connections.
      const closing = Date.now()
      await client.close()
      expect(Date.now() - closing).toBeLessThan(3000)
    } finally {
      await server.stop()
    }
  }, 30_000)
})
