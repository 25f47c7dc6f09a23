import { spawnSync } from 'node:child_process'
import { repoRoot, runScript } from './scripts.js'

const running = () => {
  const status = spawnSync('bash', [`${repoRoot}scripts/kafka-cluster.sh`, 'status'], { encoding: 'utf8' })
  return status.status === 0 && (status.stdout.match(/answering/g) ?? []).length === 3
}

/** Starts the three-broker cluster for the fault tests and stops it afterwards (unless it was already up). */
export default function setup(): () => void {
  const wasRunning = running()
  // A cluster started for these tests is disposable: fresh storage in, state removed after.
  if (!wasRunning) runScript('kafka-cluster.sh', 'clean')
  runScript('kafka-cluster.sh', 'start')
  return () => {
    // Bring back any node a test left down, so the next user finds a whole cluster.
    if (wasRunning) runScript('kafka-cluster.sh', 'start')
    else runScript('kafka-cluster.sh', 'clean')
  }
}
