import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { isIP } from 'node:net'
import { BackendUnavailableError } from '@keyed/sdk/backend'
import { authenticationError, isAuthFailure, replyCode, safeCause } from './errors.js'
import type { ResolvedOptions } from './options.js'

/** A connection that waits through reconnects instead of failing commands (readers, heartbeats, producers alike). */
export function createConnection(options: ResolvedOptions, name: string): Redis {
  const { server } = options
  return new Redis({
    host: server.host,
    port: server.port,
    username: server.username,
    password: server.password,
    db: server.db,
    ...(server.tls ? { tls: isIP(server.host) ? {} : { servername: server.host } } : {}),
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  })
}

/**
 * Connects within connectTimeoutMs or fails with BackendUnavailableError; a server that refuses the credentials fails
 * it at once with AuthenticationError (ioredis would retry them forever). The connection is closed on failure.
 */
export async function connectOrFail(conn: Redis, options: ResolvedOptions): Promise<void> {
  const { server, connectTimeoutMs } = options
  let lastError: unknown
  let timer: NodeJS.Timeout | undefined
  let onError: ((error: unknown) => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      onError = (error: unknown) => {
        lastError = error
        if (isAuthFailure(error)) reject(authenticationError(error, server))
      }
      conn.on('error', onError)
      timer = setTimeout(() => {
        const cause = lastError === undefined ? undefined : safeCause(lastError, server)
        reject(
          new BackendUnavailableError(
            'redis',
            `cannot reach ${server.display} within ${connectTimeoutMs} ms (connectTimeoutMs; ${cause?.message ?? 'no answer'}). ` +
              `Start a server (scripts/redis-start.sh, or redis-server --port 6379), or pass redis({ url }) pointing at one.`,
            { cause },
          ),
        )
      }, connectTimeoutMs)
      // connect() may reject on the first failed attempt while ioredis keeps retrying; wait for 'ready' instead.
      if (conn.status === 'ready') return resolve()
      conn.once('ready', () => resolve())
      if (conn.status === 'wait') conn.connect().catch((error: unknown) => (lastError ??= error))
    })
  } catch (error) {
    conn.disconnect()
    throw error
  } finally {
    clearTimeout(timer)
    if (onError) conn.off('error', onError)
  }
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
      if (replyCode(error) !== 'NOSCRIPT') throw error
      return (await conn.eval(this.source, keys.length, ...keys, ...args)) as T
    }
  }
}
