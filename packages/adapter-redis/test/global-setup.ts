import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starts the shared redis-server on 6379 unless one answers, and the test cluster (scripts/redis-cluster.sh, 3
 * primaries + 3 replicas on ports of this run's own); a failure here fails the run (tests never skip). Tests' private servers
 * (helpers.privateServer) live under one directory, and the teardown kills any a timed-out test left, and the cluster.
 */
export default function setup(): () => void {
  const script = (name: string) => fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url))
  execFileSync('bash', [script('redis-start.sh')], { stdio: 'inherit' })
  // A cluster of this run's own, on 6 ports picked at random in 7100-7895 (the cluster bus adds 10000), so runs in
  // other worktrees neither share nor stop it. KEYED_REDIS_CLUSTER_PORT picks the base port instead.
  process.env.KEYED_REDIS_CLUSTER_PORT ??= String(7100 + 10 * Math.floor(Math.random() * 80))
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
