import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// One program, three backends: only KEYED_BACKEND changes. Kafka and Redis are started by `npm test`.
describe('orders-service example', () => {
  for (const backend of ['memory', 'kafka', 'redis']) {
    it(`runs unchanged on ${backend}`, async () => {
      const cwd = fileURLToPath(new URL('..', import.meta.url))
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'orders-service.ts'], {
        cwd,
        timeout: 90_000,
        env: { ...process.env, KEYED_BACKEND: backend },
      })
      expect(stdout).toContain(`${backend}: 30 events handled, 10/10 customers saw placed → paid → shipped in order`)
    }, 120_000)
  }
})
