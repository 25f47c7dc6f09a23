import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const NODE_22 = '22.23.5'

/**
 * @platformatic/kafka 2.x needs Node 22.22+: on an older Node, runs this bench script again on Node 22 (installed from
 * the npm registry by scripts/node-lines.sh --bin, cached) and exits with its status, so every figure of a run comes
 * from one Node. Returns on a Node that can run it.
 */
export function runOnPlatformaticNode(scriptUrl: string): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 22)) return
  const script = fileURLToPath(new URL('../scripts/node-lines.sh', import.meta.url))
  const bin = spawnSync('bash', [script, '--bin', NODE_22], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (bin.status !== 0) throw new Error(`could not install Node ${NODE_22} for the platformatic transport`)
  console.log(`[bench] Node ${process.versions.node} cannot run @platformatic/kafka 2.x: running on Node ${NODE_22}`)
  const run = spawnSync(`${bin.stdout.trim()}/node`, ['--import', 'tsx', fileURLToPath(scriptUrl)], {
    stdio: 'inherit',
  })
  process.exit(run.status ?? 1)
}
