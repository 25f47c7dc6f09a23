import { Cluster, Redis } from 'ioredis'
import { isIP } from 'node:net'
import {
  type AuthenticationError,
  BackendUnavailableError,
  ClosedError,
  ConfigError,
  defaultLogger,
  type Logger,
} from '@keyed/sdk/backend'
import { authenticationError, isAuthFailure, safeCause } from './errors.js'
import type { ResolvedOptions } from './options.js'

/** A server connection or a cluster client: the same commands; a cluster routes each by its key's slot. */
export type Connection = Redis | Cluster

/** A connection that waits through reconnects instead of failing commands (readers, heartbeats, producers alike). */
export function createConnection(options: ResolvedOptions, name: string): Connection {
  const { server, cluster } = options
  const tls = server.tls ? { tls: isIP(server.host) ? {} : { servername: server.host } } : {}
  const retryStrategy = (times: number) => Math.min(50 * times, 1000)
  if (cluster) {
    // Each cluster client (one per blocking reader, like duplicate()) keeps its own connection per node it uses.
    // Primaries only (scaleReads 'master'): a replica may lag behind what was acknowledged. A lost node's commands
    // are retried after a slots refresh every retryDelayOnFailover, bounded by sendTimeoutMs rather than a count.
    return new Cluster(
      cluster.map((n) => ({ host: n.host, port: n.port })),
      {
        lazyConnect: true,
        scaleReads: 'master',
        maxRedirections: Math.ceil(options.sendTimeoutMs / 100) + 16,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        clusterRetryStrategy: retryStrategy,
        redisOptions: {
          username: server.username,
          password: server.password,
          ...tls,
          connectionName: name,
          maxRetriesPerRequest: null,
        },
      },
    )
  }
  return new Redis({
    host: server.host,
    port: server.port,
    username: server.username,
    password: server.password,
    db: server.db,
    ...tls,
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy,
  })
}

/**
 * Connects within connectTimeoutMs or fails with BackendUnavailableError; a server that refuses the credentials fails
 * it at once with AuthenticationError (ioredis would retry them forever). The connection is closed on failure.
 */
export async function connectOrFail(conn: Connection, options: ResolvedOptions): Promise<void> {
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
      conn.on('node error', onError) // a cluster reports its nodes' failures (a refused password) here
      timer = setTimeout(() => {
        const cause = lastError === undefined ? undefined : safeCause(lastError, server)
        reject(
          new BackendUnavailableError(
            'redis',
            `cannot reach ${server.display} within ${connectTimeoutMs} ms (connectTimeoutMs; ${cause?.message ?? 'no answer'}). ` +
              `Start a Redis server there (for example redis-server --port ${server.port}), or pass redis({ url }) pointing at one.`,
            { cause },
          ),
        )
      }, connectTimeoutMs)
      // connect() may reject on the first failed attempt while ioredis keeps retrying; wait for 'ready' instead.
      if (conn.status === 'ready') return resolve()
      conn.once('ready', () => resolve())
      if (conn.status === 'wait') conn.connect().catch((error: unknown) => (lastError ??= error))
    })
    if (server.db !== 0 && !options.cluster) await checkDatabase(conn as Redis, options)
  } catch (error) {
    conn.disconnect()
    throw error
  } finally {
    clearTimeout(timer)
    if (onError) conn.off('error', onError).off('node error', onError)
  }
}

/**
 * ioredis reports a refused SELECT (a database number the server does not have) only as an 'error' event and goes
 * on in database 0, so records would land where no reader of the URL's database looks. CLIENT INFO runs after the
 * SELECT on the same connection and says which database the connection is in.
 */
async function checkDatabase(conn: Redis, options: ResolvedOptions): Promise<void> {
  const { server } = options
  const info = String(await conn.call('CLIENT', 'INFO'))
  const db = /(?:^| )db=(\d+)/.exec(info)?.[1]
  if (db !== undefined && Number(db) !== server.db) {
    throw new ConfigError(
      `${server.display} has no database ${server.db} (the server refused SELECT ${server.db}; see its 'databases' setting). ` +
        'Name a database the server has in the URL path, or none for database 0.',
    )
  }
}

/**
 * The backend's connections: one shared for commands, one per blocking reader, all dropped by close(). Every one of
 * them whose reconnect is refused the credentials (the password changed on the server, the user was removed or lost
 * its rights) is dropped at once: ioredis would retry them forever, and its user would wait without a word (a group
 * member's blocking read never answered, a send's WAIT timing out). refusal(), onRefusal() and guard() tell its users.
 */
export class Connections {
  private shared: Connection | undefined
  private connecting: Promise<Connection> | undefined
  private closed = false
  private readonly open = new Set<Connection>()
  /** Connections dropped because a reconnect's credentials were refused, with the error their calls get. */
  private readonly refusals = new WeakMap<Connection, AuthenticationError>()
  private readonly listeners = new WeakMap<Connection, Set<(refusal: AuthenticationError) => void>>()
  /** Set by the backend's setLogger(). */
  logger: Logger = defaultLogger

  constructor(private readonly options: ResolvedOptions) {}

  /**
   * The shared command connection, connected within connectTimeoutMs or a keyed error. Dropped when a reconnect of it
   * is refused the credentials, like every connection here: its waiting calls fail then (refusal() says why), nothing
   * of them is written later, and the next call connects anew, failing at once with AuthenticationError while they
   * are refused.
   */
  connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClosedError('redis backend'))
    this.connecting ??= (async () => {
      const conn = await this.dedicated('keyed')
      this.shared = conn
      return conn
    })()
    const pending = this.connecting
    pending.catch(() => {
      if (this.connecting === pending) this.connecting = undefined
    })
    return pending
  }

  /** The AuthenticationError that dropped the connection `conn`, if one did: what its failed calls get. */
  refusal(conn: Connection): AuthenticationError | undefined {
    return this.refusals.get(conn)
  }

  /** Calls `listener` if the connection `conn` is dropped for refused credentials; returns its removal. */
  private onRefusal(conn: Connection, listener: (refusal: AuthenticationError) => void): () => void {
    let set = this.listeners.get(conn)
    if (!set) this.listeners.set(conn, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  /**
   * `work`, a call on `conn`, failed with the AuthenticationError that drops `conn` if that comes first (or came
   * before): a command written before the connection went is never answered then, and one queued for the reconnect
   * fails with "Connection is closed.", which is the refusal too.
   */
  guard<T>(conn: Connection, work: Promise<T>): Promise<T> {
    const refused = this.refusals.get(conn)
    if (refused) {
      work.catch(() => undefined)
      return Promise.reject(refused)
    }
    return new Promise<T>((resolve, reject) => {
      const off = this.onRefusal(conn, reject)
      work.then(
        (value) => {
          off()
          resolve(value)
        },
        (error: unknown) => {
          off()
          reject(this.refusals.get(conn) ?? (error as Error))
        },
      )
    })
  }

  /**
   * A connection of its own (a blocking read holds its connection), connected or a keyed error; dropped, like the
   * shared one, when a reconnect of it is refused the credentials (guard() its calls).
   */
  async dedicated(name: string): Promise<Connection> {
    const conn = createConnection(this.options, name)
    this.open.add(conn)
    conn.once('end', () => this.open.delete(conn))
    // ioredis reconnects by itself and a down server shows as commands that wait, so this is only a warning; the
    // message is scrubbed of the password and names the server by its redacted URL.
    const { server } = this.options
    const warn = (error: unknown) =>
      this.logger.warn(
        { server: server.display, connection: name, err: safeCause(error, server) },
        isAuthFailure(error)
          ? `redis connection '${name}' to ${server.display} was refused the credentials; closed, not reconnecting`
          : `redis connection '${name}' to ${server.display} failed; reconnecting`,
      )
    const refused = (error: unknown) => {
      if (!isAuthFailure(error) || this.refusals.has(conn)) return
      const refusal = authenticationError(error, server)
      this.refusals.set(conn, refusal)
      if (this.shared === conn) {
        this.shared = undefined
        this.connecting = undefined
      }
      // A command written before the connection went waits in ioredis for a reconnect that will not come now
      // (disconnect() fails only the queued ones): its callers hear of the refusal through onRefusal() or guard().
      conn.disconnect()
      const listeners = this.listeners.get(conn)
      this.listeners.delete(conn)
      for (const listener of listeners ?? []) listener(refusal)
    }
    for (const event of ['error', 'node error']) {
      // A cluster reports its nodes' failures (a refused password) as 'node error'.
      conn.on(event, warn)
      conn.on(event, refused)
    }
    await connectOrFail(conn, this.options)
    return conn
  }

  /** QUIT on the shared connection (its commands in flight are answered first). */
  async quit(): Promise<void> {
    this.closed = true
    const conn = this.shared
    this.shared = undefined
    if (conn) await conn.quit().catch(() => conn.disconnect())
  }

  /** Drops every connection at once: ioredis may never settle commands queued for a reconnect that will not come. */
  drop(): void {
    this.closed = true
    for (const conn of this.open) conn.disconnect()
  }
}
