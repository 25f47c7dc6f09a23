import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The sharded settings example's claims, on every backend: two instances split the partitions and together serve
// every user, a read on the wrong instance names the owning partition, and the survivor takes over when one stops.
describe('settings-shards example', () => {
  for (const backend of ['memory', 'kafka', 'redis']) {
    it(`splits the table and hands it over on ${backend}`, async () => {
      const cwd = fileURLToPath(new URL('..', import.meta.url))
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'settings-shards.ts'], {
        cwd,
        timeout: 90_000,
        env: { ...process.env, KEYED_BACKEND: backend },
      })
      const [, ofA, ofB] = stdout.match(/a holds partitions ([\d,]+) \(\d+ users\), b holds ([\d,]+) \(/) ?? []
      expect([...ofA!.split(','), ...ofB!.split(',')].sort()).toEqual(['0', '1', '2', '3'])
      expect(stdout).toContain('100/100 users served by their owner')
      const [, named, routed] = stdout.match(/NOT_OWNED, partition (\d) \(the router says (\d)\)/) ?? []
      expect(named).toBeDefined()
      expect(named).toBe(routed)
      expect(stdout).toContain(
        'after b stopped: a holds partitions 0,1,2,3 (95 users); 100/100 users match the last write',
      )
    }, 120_000)
  }
})
