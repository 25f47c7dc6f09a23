import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The settings table example's claims, on every backend: loaded as written before the start, the invalid record
// skipped and reported where it was written, every change heard in order, and current after the updates.
describe('settings-table example', () => {
  for (const backend of ['memory', 'kafka', 'redis']) {
    it(`keeps the table current on ${backend}`, async () => {
      const cwd = fileURLToPath(new URL('..', import.meta.url))
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'settings-table.ts'], {
        cwd,
        timeout: 90_000,
        env: { ...process.env, KEYED_BACKEND: backend },
      })
      expect(stdout).toContain(`${backend}: ready with 45 users, 50/50 as written before the start`)
      const [, at, written] =
        stdout.match(
          /skipped 1 invalid record \((partition \d+ offset \S+), written at (partition \d+ offset \S+)\); user-7 kept theme dark/,
        ) ?? []
      expect(at).toBeDefined()
      expect(at).toBe(written)
      expect(stdout).toContain(
        "after 20 rounds of updates: 1000 changes heard, 50/50 users' changes in order, 50/50 users match the last write",
      )
    }, 120_000)
  }
})
