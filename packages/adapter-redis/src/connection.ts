import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { BackendUnavailableError } from '@keyed/sdk/backend'
import type { ResolvedOptions } from './options.js'

/** A connection that waits through reconnects instead of failing commands (readers, heartbeats, producers alike). */
export function createConnection(options: ResolvedOptions, name: string): Redis {
  return new Redis(options.url, {
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  })
}

/** Connects within the configured time or fails with a hint; the connection is closed on failure. */
export async function connectOrFail(conn: Redis, options: ResolvedOptions): Promise<void> {
  let lastError: unknown
  const onError = (error: unknown) => (lastError = error)
  conn.on('error', onError)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      // connect() may reject on the first failed attempt while ioredis keeps retrying; wait for 'ready' instead.
      new Promise<void>((resolve) => {
        if (conn.status === 'ready') return resolve()
        conn.once('ready', () => resolve())
        if (conn.status === 'wait') conn.connect().catch((error: unknown) => (lastError = error))
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), options.connectTimeoutMs)
      }),
    ])
  } catch {
    conn.disconnect()
    const reason = lastError instanceof Error ? lastError.message : 'no answer'
    throw new BackendUnavailableError(
      'redis',
      `cannot reach ${redact(options.url)} within ${options.connectTimeoutMs} ms (${reason}). ` +
        `Start a server (scripts/redis-start.sh, or redis-server --port 6379), or pass redis({ url }) pointing at one.`,
      { cause: lastError },
    )
  } finally {
    clearTimeout(timer)
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/** A Lua script run by SHA, loaded again after NOSCRIPT (a restarted server has an empty script cache). */
export class Script {
  private readonly sha: string
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run<T>(conn: Redis, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<T> {
    try {
      return (await conn.evalsha(this.sha, keys.length, ...keys, ...args)) as T
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return (await conn.eval(this.source, keys.length, ...keys, ...args)) as T
    }
  }
}
