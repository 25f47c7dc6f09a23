import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Starts the shared redis-server on 6379 unless one answers; a failure here fails the run (tests never skip). */
export default function setup(): void {
  const script = fileURLToPath(new URL('../../../scripts/redis-start.sh', import.meta.url))
  execFileSync('bash', [script], { stdio: 'inherit' })
}
