import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

// The README's first command runs this demo; its claims must hold every time.
it('shows order per key, compaction and a rebalance', async () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'demo.ts'], {
    cwd,
    timeout: 60_000,
  })
  expect(stdout).toContain('keyed by customer id : 20/20 balances end at 0, 0 withdrawals bounced')
  expect(stdout).not.toMatch(/without a key {8}: 20\/20/)
  const [, afterCleaning] = stdout.split('after the cleaner ran')
  expect(afterCleaning).toMatch(/offset 2: user-123 = blue\s+offset 3: user-789 = red\s+user-123 kept/)
  const [, afterLeave] = stdout.split('after shipper-b left')
  expect(afterLeave).not.toContain('shipper-b')
  expect(
    afterLeave!
      .match(/handled partitions ([\d, ]+)/g)!
      .flatMap((l) => l.replace('handled partitions ', '').split(', '))
      .sort(),
  ).toEqual(['0', '1', '2', '3', '4', '5'])
}, 90_000)
