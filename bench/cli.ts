// keyed keys analyze over 1M keys from a file: keys/s in process and through the built binary (wall time and peak
// memory of the whole command, Node's start included), against the floor of reading the lines and counting them in
// a Map with no hashing or analysis. Rerun with `npm run -w bench bench:cli`.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { analyzeKeys, LineKeys } from '@keyed/cli'

const N = 1_000_000
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const dir = mkdtempSync(join(tmpdir(), 'keyed-bench-cli-'))
const file = join(dir, 'keys.txt')
// 200k customers, one tenant on 5% of the records: realistic cardinality with a hot key.
writeFileSync(
  file,
  Array.from({ length: N }, (_, i) => (i % 20 === 0 ? 'tenant-hot' : `customer-${(i * 7919) % 200_000}`)).join('\n') +
    '\n',
)

function bestOf(runs: number, fn: () => void): number {
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

const floor = bestOf(3, () => {
  const counts = new Map<string, number>()
  for (const line of readFileSync(file, 'utf8').split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1)
})
const inProcess = bestOf(3, () => {
  analyzeKeys(new LineKeys(readFileSync(file)), 12)
})

const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url))
// The peak RSS of the command itself, reported by the process as it exits.
const report =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss '+process.resourceUsage().maxRSS+'\\n'))"
let wall = Infinity
let rssKb = 0
for (let i = 0; i < 3; i++) {
  const t0 = performance.now()
  const run = spawnSync(
    process.execPath,
    ['--import', report, bin, 'keys', 'analyze', '--keys', file, '--partitions', '12', '--json'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  )
  const ms = performance.now() - t0
  if (run.status !== 0) throw new Error(run.stderr)
  if (ms < wall) {
    wall = ms
    rssKb = Number(/maxrss (\d+)/.exec(run.stderr)?.[1] ?? 0)
  }
  if ((JSON.parse(run.stdout) as { records: number }).records !== N) throw new Error('wrong record count')
}
rmSync(dir, { recursive: true, force: true })

console.log(`keys analyze, 1M keys (200,001 distinct) from a file, 12 partitions`)
console.log(
  `  in process   ${fmt((N / inProcess) * 1000).padStart(11)} keys/s   (${inProcess.toFixed(0)} ms; floor, lines counted in a Map: ${fmt((N / floor) * 1000)} keys/s, ratio ${(floor / inProcess).toFixed(2)})`,
)
console.log(
  `  keyed binary ${fmt((N / wall) * 1000).padStart(11)} keys/s   (${wall.toFixed(0)} ms wall, Node start included; peak RSS ${(rssKb / 1024).toFixed(0)} MiB)`,
)
