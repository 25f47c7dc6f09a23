import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import { waitFor } from '@keyed/sdk/testing'
import { redis, type RedisOptions } from '../src/index.js'

export const REDIS_URL = process.env.KEYED_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test run uses; the 6379 server is shared by every run on the machine. */
export function runPrefix(): string {
  return `keyed-test:${process.pid}-${randomBytes(4).toString('hex')}:`
}

/** The first port of this run's test cluster (scripts/redis-cluster.sh, started on ports of its own by the global setup). */
export const CLUSTER_BASE = Number(process.env.KEYED_REDIS_CLUSTER_PORT ?? 7000)
export const CLUSTER_URLS = Array.from({ length: 6 }, (_, i) => `redis://127.0.0.1:${CLUSTER_BASE + i}`)

export function clusterBackendFactory(prefix: string, extra: RedisOptions = {}) {
  return () => redis({ cluster: CLUSTER_URLS, keyPrefix: prefix, blockMs: 200, cleanerIntervalMs: 100, ...extra })
}

/** Deletes every key under the prefix on every primary of the test cluster. */
export async function cleanupCluster(prefix: string): Promise<void> {
  const cluster = new Cluster(
    CLUSTER_URLS.map((u) => ({ host: '127.0.0.1', port: Number(u.split(':')[2]) })),
    { lazyConnect: true, scaleReads: 'master' },
  )
  cluster.on('error', () => undefined)
  await cluster.connect()
  try {
    for (const node of cluster.nodes('master')) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        for (const key of keys) await node.unlink(key)
        cursor = next
      } while (cursor !== '0')
    }
  } finally {
    cluster.disconnect()
  }
}

export function backendFactory(prefix: string, extra: RedisOptions = {}) {
  return () => redis({ url: REDIS_URL, keyPrefix: prefix, blockMs: 200, cleanerIntervalMs: 100, ...extra })
}

/** Deletes every key under the prefix. */
export async function cleanup(prefix: string, url = REDIS_URL): Promise<void> {
  const conn = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await conn.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length) await conn.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    conn.disconnect()
  }
}

export function uniqueTopic(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`
}

/** True when a redis-server answers PING at the url; one try, no reconnects. */
export async function answers(url: string): Promise<boolean> {
  const conn = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  conn.on('error', () => undefined)
  try {
    await conn.connect()
    return (await conn.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    conn.disconnect()
  }
}

export interface PrivateServer {
  readonly url: string
  readonly port: number
  /** SIGSTOP freezes it (connections stay open, nothing answers), SIGCONT resumes it, SIGKILL ends it. */
  signal(signal: NodeJS.Signals): void
  stop(): Promise<void>
}

/**
 * A redis-server of the test's own on a free port (tests that freeze, kill or lock a server must not touch the shared
 * one on 6379). Extra arguments are passed through (`--requirepass`, `--appendonly yes`…).
 */
export async function privateServer(extra: readonly string[] = []): Promise<PrivateServer> {
  for (let attempt = 0; ; attempt++) {
    const port = 6500 + Math.floor(Math.random() * 400)
    // Its own directory (a replica writes the primary's snapshot there), with its pid for the global teardown: a test
    // that timed out never reaches its finally.
    const dir = mkdtempSync(join(process.env.KEYED_REDIS_SERVERS ?? tmpdir(), 'server-'))
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', ...extra],
      { stdio: 'ignore' },
    )
    if (child.pid !== undefined) writeFileSync(join(dir, 'pid'), String(child.pid))
    let exited = false
    const gone = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true
        rmSync(dir, { recursive: true, force: true })
        resolve()
      }),
    )
    const url = `redis://127.0.0.1:${port}`
    // Up once the server on the port is this child: another test's server may hold a port picked at random (then
    // ours exits at once, and that one must not be taken for it). The password, if any, is the one passed.
    const password = extra[extra.indexOf('--requirepass') + 1]
    const up = async () =>
      exited || (await pidAt(port, extra.includes('--requirepass') ? password : undefined)) === child.pid
    await waitFor(`a redis-server on port ${port}`, 10_000, up)
    if (exited) {
      if (attempt < 5) continue // the port was taken
      throw new Error(`redis-server would not start on port ${port}`)
    }
    return {
      url,
      port,
      signal: (signal) => void (exited || child.kill(signal)),
      stop: async () => {
        if (exited) return
        child.kill('SIGKILL')
        await gone
      },
    }
  }
}

/** The process id of the redis-server answering on the port, or undefined while none answers. */
async function pidAt(port: number, password: string | undefined): Promise<number | undefined> {
  const conn = new Redis({
    port,
    host: '127.0.0.1',
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  })
  conn.on('error', () => undefined)
  try {
    await conn.connect()
    const pid = /process_id:(\d+)/.exec(await conn.info('server'))?.[1]
    return pid === undefined ? undefined : Number(pid)
  } catch {
    return undefined
  } finally {
    conn.disconnect()
  }
}
