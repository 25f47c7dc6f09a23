import {
  AuthenticationError,
  BackendRefusedError,
  BackendUnavailableError,
  isKeyedError,
  type KeyedError,
} from '@keyed/sdk/backend'
import type { ServerAddress } from './url.js'

/** Error replies whose cause passes by itself (a server starting, busy, failing over): the same call may succeed later. */
const PASSING = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN'])
/** Socket failures Node reports by code: the server is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

interface ErrorShape {
  readonly name?: unknown
  readonly message?: unknown
  readonly code?: unknown
}

/** The first word of a Redis error reply (WRONGTYPE, OOM, NOAUTH…), or undefined for errors that are not replies. */
export function replyCode(error: unknown): string | undefined {
  const { name, message } = shape(error)
  if (name !== 'ReplyError' || typeof message !== 'string') return undefined
  return /^[A-Z]+/.exec(message)?.[0]
}

/** A refusal of the credentials: a wrong password or user (WRONGPASS), none given (NOAUTH), or no right (NOPERM). */
export function isAuthFailure(error: unknown): boolean {
  const code = replyCode(error)
  return code === 'WRONGPASS' || code === 'NOAUTH' || code === 'NOPERM'
}

export function authenticationError(error: unknown, server: ServerAddress): AuthenticationError {
  const code = replyCode(error)
  const hint =
    code === 'NOAUTH'
      ? 'it requires a password and redis({ url }) gives none: use redis://:password@host:port (or user:password@).'
      : code === 'NOPERM'
        ? `the user may not run keyed's commands or touch its keys (${firstLine(error, server)}): grant them in the server's ACL.`
        : 'the user or password in redis({ url }) is wrong (WRONGPASS). Check them; percent-encode @ / ? # % in them.'
  return new AuthenticationError('redis', `${server.display} answered, and ${hint}`)
}

/**
 * A keyed error for an ioredis failure, saying what to do and whether retrying may help. Never carries the ioredis
 * error itself (its `command.args` hold the password of an AUTH, and whole records): the cause is a copy holding only
 * its name, code and message, with secrets removed.
 */
export function toKeyedError(error: unknown, action: string, server: ServerAddress): KeyedError {
  if (isKeyedError(error)) return error
  const cause = safeCause(error, server)
  const detail = cause.message
  const code = replyCode(error)
  if (isAuthFailure(error)) return authenticationError(error, server)
  if (code === undefined) {
    const { name, message, code: sysCode } = shape(error)
    const down =
      name === 'MaxRetriesPerRequestError' ||
      message === 'Connection is closed.' ||
      // ioredis's AbortError: a command it gave up on when its connection closed (a cluster node failing over).
      (typeof message === 'string' && message.startsWith('Command aborted due to connection close')) ||
      (typeof sysCode === 'string' && SOCKET_CODES.has(sysCode))
    return down
      ? new BackendUnavailableError('redis', `could not ${action}: ${server.display} did not answer (${detail}).`, {
          cause,
        })
      : new BackendUnavailableError('redis', `could not ${action} (${detail}).`, { cause, retriable: false })
  }
  if (PASSING.has(code))
    return new BackendUnavailableError('redis', `could not ${action}: ${detail}. Retry later.`, { cause })
  if (detail.startsWith('ERR max number of clients')) {
    return new BackendUnavailableError(
      'redis',
      `could not ${action}: the server has maxclients connections open. Retry later, or raise maxclients.`,
      { cause },
    )
  }
  const refused = (message: string, setting?: string) =>
    new BackendRefusedError('redis', `could not ${action}: ${message}`, { cause, setting })
  switch (code) {
    case 'KEYEDSTALE': {
      // append.lua: "KEYEDSTALE <sequence> <highest applied>"
      const [, sequence, top] = detail.split(' ')
      return new BackendRefusedError(
        'redis',
        `could not ${action}: nothing of it was appended to this partition. It reached the server after a later send of ` +
          `this producer (number ${top ?? '?'}, this one is ${sequence ?? '?'}) had appended to the same partition: it was ` +
          `resent after a reconnect or a failover, and appending it now would put its records after later records of ` +
          `their keys, or twice if it had been appended before and is no longer remembered (the last 16 sends per ` +
          `partition are). Send the records again if landing after the later ones is acceptable.`,
        { cause, retriable: false },
      )
    }
    case 'OOM':
      return refused(
        `the server is at its maxmemory and takes no writes (${detail}). Raise maxmemory, or give topics retention. ` +
          `Do not use an eviction policy: evicting keyed's streams, leases or indexes loses records and ownership.`,
        'maxmemory',
      )
    case 'READONLY':
      return refused(
        `${server.display} is a read-only replica (${detail}). Point redis({ url }) at the primary.`,
        'url',
      )
    case 'WRONGTYPE':
      return refused(
        `a key under this keyPrefix holds another type of value than keyed put there (${detail}): another application ` +
          `writes the same keys. Give keyed its own redis({ keyPrefix }) or database.`,
        'keyPrefix',
      )
    case 'MOVED':
    case 'ASK':
    case 'CROSSSLOT':
      return refused(
        `${server.display} is a Redis Cluster node (${detail}); redis({ url }) is for a single server: pass the cluster's nodes as redis({ cluster: [urls] }).`,
        'url',
      )
    case 'NOSCRIPT':
    case 'NOTBUSY':
      return refused(`${detail}. The server does not run keyed's Lua scripts; keyed needs Redis 7.0+ with scripting.`)
    default:
      if (/^ERR unknown command/.test(detail)) return refused(`${detail}. keyed needs Redis 7.0 or later.`)
      return refused(detail)
  }
}

/** Rejects with toKeyedError of whatever fn throws. */
export async function translated<T>(action: string, server: ServerAddress, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw toKeyedError(error, action, server)
  }
}

/** An Error with the original's name, code and message (secrets removed), and nothing else. */
export function safeCause(error: unknown, server: ServerAddress): Error {
  const { name, message, code } = shape(error)
  const copy = new Error(scrub(typeof message === 'string' ? message : String(error), server))
  copy.name = typeof name === 'string' ? name : 'Error'
  if (typeof code === 'string') Object.defineProperty(copy, 'code', { value: code, enumerable: true })
  copy.stack = `${copy.name}: ${copy.message}`
  return copy
}

function firstLine(error: unknown, server: ServerAddress): string {
  const { message } = shape(error)
  return scrub(typeof message === 'string' ? (message.split('\n')[0] ?? '') : String(error), server)
}

/** The text with the password (as given and percent-encoded) replaced by ***. */
function scrub(text: string, server: ServerAddress): string {
  const { password } = server
  if (!password) return text
  let out = text
  for (const secret of new Set([password, encodeURIComponent(password)])) out = out.split(secret).join('***')
  return out
}

function shape(error: unknown): ErrorShape {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : { message: String(error) }
}
