/**
 * keyed on a Redis Cluster (3 primaries + 3 replicas, scripts/redis-cluster.sh) against the single server, in one run:
 * produce and consume over 12 partitions, and the cost of acks 'all' (WAIT for 1 replica) against acks 'leader'.
 * Starts the cluster when none answers on 7000-7005 (and stops it after); the single server must be running.
 * Usage: npm run -w bench bench:redis-cluster [-- --records 100000 --partitions 12 --batch 500 --producers 4 --rounds 5]
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { createClient, defineTopic, serdes, type Client } from '@keyed/sdk'
import { redis } from '@keyed/adapter-redis'
import { ratios, spread } from './rounds.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const RECORDS = arg('records', 100_000)
const PARTITIONS = arg('partitions', 12)
const BATCH = arg('batch', 500)
const PRODUCERS = arg('producers', 4)
const ROUNDS = arg('rounds', 5)
const SINGLE = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLUSTER = Array.from({ length: 6 }, (_, i) => `redis://127.0.0.1:${7000 + i}`)
const prefix = `keyed-bench-cluster:${randomBytes(4).toString('hex')}:`
const value = randomBytes(100)
const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`)
const script = fileURLToPath(new URL('../scripts/redis-cluster.sh', import.meta.url))

async function answers(port: number): Promise<boolean> {
  const conn = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  conn.on('error', () => undefined)
  try {
    await conn.connect()
    return /cluster_state:ok/.test(String(await conn.call('CLUSTER', 'INFO')))
  } catch {
    return false
  } finally {
    conn.disconnect()
  }
}
const startedCluster = !(await answers(7000))
if (startedCluster) execFileSync('bash', [script, 'start'], { stdio: 'inherit' })

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)

/** CPU seconds (user + system, from /proc) so far of the redis-servers listening on these ports. */
function serversCpu(ports: readonly number[]): number {
  let ticks = 0
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+) redis-server \S*:(\d+)/.exec(line)
    if (!m || !ports.includes(Number(m[2]))) continue
    try {
      const stat = readFileSync(`/proc/${m[1]}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100 // USER_HZ
}

/** CPU microseconds per record of this process and of the servers on `ports` while `fn` ran. */
async function cpuPerRecord(ports: readonly number[], records: number, fn: () => Promise<number>) {
  const client0 = process.cpuUsage()
  const servers0 = serversCpu(ports)
  const perSec = await fn()
  const client = process.cpuUsage(client0)
  return {
    perSec,
    client: (client.user + client.system) / records,
    servers: ((serversCpu(ports) - servers0) * 1e6) / records,
  }
}
const SINGLE_PORT = [Number(new URL(SINGLE).port || 6379)]
const CLUSTER_PORTS = Array.from({ length: 6 }, (_, i) => 7000 + i)
const single = createClient({ backend: redis({ url: SINGLE, keyPrefix: prefix, cleanerIntervalMs: 0 }) })
const cluster = createClient({ backend: redis({ cluster: CLUSTER, keyPrefix: prefix, cleanerIntervalMs: 0 }) })

/** PRODUCERS producers at once, each sending its share in batches of BATCH, one send in flight each. */
async function produce(client: Client, name: string, acks: 'all' | 'leader'): Promise<number> {
  const topic = defineTopic(name, { partitions: PARTITIONS, value: serdes.bytes() })
  await client.admin().ensureTopics([topic])
  const producers = Array.from({ length: PRODUCERS }, () => client.producer({ acks, idempotent: false }))
  await Promise.all(producers.map((p) => p.send(topic, { key: keys[0]!, value })))
  const share = Math.ceil(RECORDS / PRODUCERS)
  const t0 = performance.now()
  await Promise.all(
    producers.map(async (producer, n) => {
      for (let i = n * share; i < Math.min((n + 1) * share, RECORDS); i += BATCH) {
        const batch = []
        for (let j = i; j < Math.min(i + BATCH, (n + 1) * share, RECORDS); j++)
          batch.push({ key: keys[j % keys.length]!, value })
        await producer.send(topic, batch)
      }
    }),
  )
  const perSec = rate(RECORDS, performance.now() - t0)
  await Promise.all(producers.map((p) => p.close()))
  return perSec
}

async function consume(client: Client, name: string): Promise<number> {
  const topic = defineTopic(name, { partitions: PARTITIONS, value: serdes.bytes() })
  const total = RECORDS + PRODUCERS // the warm-up sends
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const t0 = performance.now()
  const consumer = client.consumer({ groupId: 'bench', maxBatchSize: BATCH })
  await consumer.subscribe(
    topic,
    () => {
      if (++seen === total) done()
    },
    { fromBeginning: true },
  )
  await finished
  const perSec = rate(total, performance.now() - t0)
  await consumer.close()
  return perSec
}

try {
  // Rounds alternate the cases so background load on the machine hits each alike; ratios are taken within each round.
  const runs = {
    single: [] as number[],
    leader: [] as number[],
    all: [] as number[],
    singleAll: [] as number[],
    singleConsume: [] as number[],
    clusterConsume: [] as number[],
  }
  const cpu = {
    single: [] as number[][],
    cluster: [] as number[][],
    singleConsume: [] as number[][],
    clusterConsume: [] as number[][],
  }
  for (let round = 0; round < ROUNDS; round++) {
    const s = await cpuPerRecord(SINGLE_PORT, RECORDS, () => produce(single, `single-${round}`, 'leader'))
    runs.single.push(s.perSec)
    cpu.single.push([s.client, s.servers])
    const c = await cpuPerRecord(CLUSTER_PORTS, RECORDS, () => produce(cluster, `leader-${round}`, 'leader'))
    runs.leader.push(c.perSec)
    cpu.cluster.push([c.client, c.servers])
    runs.all.push(await produce(cluster, `all-${round}`, 'all'))
    runs.singleAll.push(await produce(single, `single-all-${round}`, 'all'))
    const sc = await cpuPerRecord(SINGLE_PORT, RECORDS, () => consume(single, `single-${round}`))
    runs.singleConsume.push(sc.perSec)
    cpu.singleConsume.push([sc.client, sc.servers])
    const cc = await cpuPerRecord(CLUSTER_PORTS, RECORDS, () => consume(cluster, `leader-${round}`))
    runs.clusterConsume.push(cc.perSec)
    cpu.clusterConsume.push([cc.client, cc.servers])
  }
  const rows: Array<[string, number[], number[] | undefined, string]> = [
    ["produce: single server, acks 'leader'", runs.single, undefined, 'baseline'],
    [
      "produce: single server, acks 'all' (no replicas: no WAIT)",
      runs.singleAll,
      ratios(runs.singleAll, runs.single),
      'vs single leader',
    ],
    ["produce: cluster, acks 'leader'", runs.leader, ratios(runs.leader, runs.single), 'vs single server'],
    [
      "produce: cluster, acks 'all' (WAIT 1 replica)",
      runs.all,
      ratios(runs.all, runs.leader),
      "vs cluster acks 'leader'",
    ],
    ['consume: single server', runs.singleConsume, undefined, 'baseline'],
    ['consume: cluster', runs.clusterConsume, ratios(runs.clusterConsume, runs.singleConsume), 'vs single server'],
  ]
  console.log(
    `\nRedis single ${SINGLE} vs cluster 3+3 on 7000-7005: ${RECORDS} records of ${value.length} B, ${keys.length} keys, ${PARTITIONS} partitions, ${PRODUCERS} producers, batches of ${BATCH}, ${ROUNDS} rounds: median (min–max); ratios within each round\n`,
  )
  console.log('| case | records/s | ratio | against |')
  console.log('|---|---:|---:|---|')
  for (const [name, perSec, ratio, against] of rows)
    console.log(`| ${name} | ${spread(perSec)} | ${ratio ? spread(ratio, 'ratio') : '1.00'} | ${against} |`)
  // Where a produced record's CPU goes: on a machine with few cores the cluster can only be faster if it needs no more
  // CPU per record than the single server, or if the single server alone was the bottleneck.
  const us = (xs: number[][], i: number) =>
    spread(
      xs.map((x) => x[i]!),
      'ratio',
    )
  console.log(`\nCPU µs per record (this client; the redis-servers, replicas included):`)
  console.log(`| | client | servers |\n|---|---:|---:|`)
  console.log(`| produce, acks 'leader': single server | ${us(cpu.single, 0)} | ${us(cpu.single, 1)} |`)
  console.log(`| produce, acks 'leader': cluster 3+3 | ${us(cpu.cluster, 0)} | ${us(cpu.cluster, 1)} |`)
  console.log(`| consume: single server | ${us(cpu.singleConsume, 0)} | ${us(cpu.singleConsume, 1)} |`)
  console.log(`| consume: cluster 3+3 | ${us(cpu.clusterConsume, 0)} | ${us(cpu.clusterConsume, 1)} |`)
} finally {
  await Promise.all([single.close(), cluster.close()])
  const raw = new Redis(SINGLE, { maxRetriesPerRequest: 1 })
  let cursor = '0'
  do {
    const [next, found] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (found.length) await raw.unlink(...found)
    cursor = next
  } while (cursor !== '0')
  raw.disconnect()
  if (startedCluster) execFileSync('bash', [script, 'stop'], { stdio: 'inherit' })
}
