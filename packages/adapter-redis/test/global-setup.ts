import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starts the shared redis-server on 6379 unless one answers; a failure here fails the run (tests never skip). Tests'
 * private servers (helpers.privateServer) live under one directory, and the teardown kills any a timed-out test left.
 */
export default function setup(): () => void {
  const script = fileURLToPath(new URL('../../../scripts/redis-start.sh', import.meta.url))
  execFileSync('bash', [script], { stdio: 'inherit' })
  const servers = mkdtempSync(join(tmpdir(), 'keyed-redis-servers-'))
  process.env.KEYED_REDIS_SERVERS = servers
  return () => {
    for (const dir of readdirSync(servers)) {
      try {
        process.kill(Number(readFileSync(join(servers, dir, 'pid'), 'utf8')), 'SIGKILL')
      } catch {
        // already gone
      }
    }
    rmSync(servers, { recursive: true, force: true })
  }
}
