import { spawn } from 'node:child_process'
import { BackendUnavailableError, createClient, defineTopic } from '@keyed/sdk'
import { describe, expect, it } from 'vitest'
import { redis } from '../src/index.js'
import { waitFor } from '@keyed/sdk/testing'
import { answers, uniqueTopic } from './helpers.js'

describe('redis outage', () => {
  it('fails a send with BackendUnavailableError after sendTimeoutMs, and closes, instead of hanging while the server is gone', async () => {
    const port = 6450 + Math.floor(Math.random() * 40)
    const url = `redis://127.0.0.1:${port}`
    const server = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    try {
      await waitFor('a private redis-server', 10_000, () => answers(url))
      const client = createClient({ backend: redis({ url, sendTimeoutMs: 800 }) })
      const topic = defineTopic(uniqueTopic('outage'), { partitions: 2 })
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 1 })
      server.kill('SIGKILL')
      await new Promise((r) => server.once('exit', r))
      const started = Date.now()
      const error = await producer.send(topic, { key: 'k', value: 2 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BackendUnavailableError)
      expect((error as Error).message).toMatch(/no answer within 800 ms \(sendTimeoutMs\)/)
      expect(Date.now() - started).toBeLessThan(5000)
      // close() waits for a graceful end at most sendTimeoutMs, then drops its connections.
      const closing = Date.now()
      await client.close()
      expect(Date.now() - closing).toBeLessThan(3000)
    } finally {
      server.kill('SIGKILL')
    }
  }, 30_000)
})
