import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))

/** Runs one of the repo's scripts/*.sh, streaming its output; throws with its exit status when it fails. */
export function runScript(script: string, ...args: string[]): void {
  const result = spawnSync('bash', [`${repoRoot}scripts/${script}`, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (result.status !== 0) {
    throw new Error(
      `scripts/${script} ${args.join(' ')} failed (exit ${String(result.status ?? result.signal)}): Kafka tests need a broker. See the output above.`,
    )
  }
}
