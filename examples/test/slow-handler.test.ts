import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

// The README's per-key concurrency section points here: the speed-up and the order must hold every time.
it('turns a slow handler fast with per-key concurrency and keeps every account in order', async () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'slow-handler.ts'], {
    cwd,
    timeout: 60_000,
  })
  expect(stdout).toMatch(/concurrency 1 {2}: \d+ ms \(0 accounts' events out of order\)/)
  expect(stdout).toMatch(/concurrency 64 : \d+ ms \(0 accounts' events out of order\)/)
  // About 10x on an idle machine (64 in flight instead of 6); 5x leaves room for a loaded one.
  const speedUp = Number(/speed-up {7}: ([\d.]+)x/.exec(stdout)![1])
  expect(speedUp).toBeGreaterThanOrEqual(5)
}, 90_000)
