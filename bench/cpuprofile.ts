// Where a profiled run's CPU went, from a V8 .cpuprofile (node --cpu-prof): each sample is charged to the nearest
// keyed or kafkajs frame on its stack; startup (module loading) and idle time are left out.
// Usage: npx tsx cpuprofile.ts <file.cpuprofile> [top N self-time functions, default 15]
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: npx tsx cpuprofile.ts <file.cpuprofile> [N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const frame = (id: number) => byId.get(id)!.callFrame

function category(id: number): string | undefined {
  const own = frame(id).functionName
  if (own === '(garbage collector)') return 'garbage collection'
  if (own === '(idle)' || own === '(program)') return undefined
  for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
    const url = frame(p).url
    if (/node:internal\/(modules|bootstrap)|tsx\/dist/.test(url)) return undefined
    if (url.includes('sdk/dist/serdes')) return 'keyed: serdes (JSON.parse, UTF-8)'
    if (url.includes('sdk/dist/')) return 'keyed: SDK (decode checks, message objects, batch loop, commit)'
    if (url.includes('adapter-kafka/dist/')) return 'keyed: adapter (records from kafkajs messages, isActive, chunks)'
    if (url.includes('/bench/')) return 'bench handler / raw kafkajs loop'
    if (url.includes('kafkajs'))
      return p === id ? 'kafkajs (own code: decoding, Long, fetch loop)' : "Node's Buffer and socket work for kafkajs"
  }
  return 'other'
}

const shares = new Map<string, number>()
const self = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!
  const what = category(id)
  if (what === undefined) continue
  const us = profile.timeDeltas[i] ?? 0
  total += us
  shares.set(what, (shares.get(what) ?? 0) + us)
  const f = frame(id)
  const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(node_modules|packages)\//, '')}:${f.lineNumber + 1}`
  self.set(name, (self.get(name) ?? 0) + us)
}
const line = (us: number, name: string) =>
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
console.log(`${(total / 1000).toFixed(0)} ms of CPU, startup and idle excluded`)
for (const [name, us] of [...shares].sort((a, b) => b[1] - a[1])) line(us, name)
console.log('\ntop self time:')
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 15))) line(us, name)
