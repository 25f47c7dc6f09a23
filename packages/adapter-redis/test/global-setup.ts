import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starts the shared redis-server on 6379 unless one answers, and the test cluster (scripts/redis-cluster.sh, 3
 * primaries + 3 replicas on 7000-7005); a failure here fails the run (tests never skip). Tests' private servers
 * (helpers.privateServer) live under one directory, and the teardown kills any a timed-out test left, and the cluster.
 */
export default function setup(): () => void {
  const script = (name: string) => fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url))
  execFileSync('bash', [script('redis-start.sh')], { stdio: 'inherit' })
  execFileSync('bash', [script('redis-cluster.sh'), 'start'], { stdio: 'inherit' })
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
    execFileSync('bash', [script('redis-cluster.sh'), 'stop'], { stdio: 'inherit' })
  }
}
