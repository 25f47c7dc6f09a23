import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { CLUSTER } from '../support/brokers.js'

const memberScript = fileURLToPath(new URL('./member.ts', import.meta.url))

/** Runs member.ts in a child process on the test cluster (options as member.ts documents); its stdout has the events. */
export function spawnMember(
  topic: string,
  partitions: number,
  group: string,
  options: { maxBatchSize?: number; started?: boolean; concurrency?: number; rebalances?: boolean },
): ChildProcess & { stdout: NodeJS.ReadableStream } {
  return spawn(
    process.execPath,
    ['--import', 'tsx', memberScript, CLUSTER.join(','), topic, String(partitions), group, JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
}
