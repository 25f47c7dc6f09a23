import { ConfigError, integerOption } from '@keyed/sdk/backend'
import { parseRedisUrl, type ServerAddress } from './url.js'

export interface RedisOptions {
  /** redis://[[user]:password@]host[:port][/db], rediss:// for TLS; default redis://127.0.0.1:6379. Percent-encode @ / ? # % in the user or password. */
  url?: string
  /** Prefix of every key this backend writes; default 'keyed:'. Must not contain '{' or '}' (they make hash tags). */
  keyPrefix?: string
  /** How long a partition lease lasts without renewal; default: the consumer's sessionTimeoutMs. */
  leaseMs?: number
  /** Overrides the consumer's heartbeatIntervalMs (membership and lease renewal). */
  heartbeatIntervalMs?: number
  /** Longest a blocking XREADGROUP waits before re-checking ownership; default 500. */
  blockMs?: number
  /** How often compaction and retention run for topics this backend touched; default 1000; 0 turns the cleaner off. */
  cleanerIntervalMs?: number
  /** How long to wait for the first connection before failing with BackendUnavailableError; default 5000. */
  connectTimeoutMs?: number
  /** Longest a send, or a close, waits through an outage or for a batch that never returns: a send then fails, a close drops its connections. Default 30000. */
  sendTimeoutMs?: number
}

export interface ResolvedOptions {
  readonly server: ServerAddress
  readonly keyPrefix: string
  readonly leaseMs: number | undefined
  readonly heartbeatIntervalMs: number | undefined
  readonly blockMs: number
  readonly cleanerIntervalMs: number
  readonly connectTimeoutMs: number
  readonly sendTimeoutMs: number
}

function int(name: string, value: number | undefined, fallback: number | undefined, min: number): number | undefined {
  return integerOption(`redis({ ${name} })`, value, fallback, min)
}

export function resolveOptions(options: RedisOptions = {}): ResolvedOptions {
  if (options.url !== undefined && typeof options.url !== 'string') throw new ConfigError(`redis({ url }) must be a string like redis://127.0.0.1:6379, got ${typeof options.url}.`)
  const server = parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379')
  const keyPrefix = options.keyPrefix ?? 'keyed:'
  if (/[{}]/.test(keyPrefix)) throw new ConfigError(`redis({ keyPrefix }) must not contain '{' or '}': keyed puts its own hash tags after the prefix. Got '${keyPrefix}'.`)
  return {
    server,
    keyPrefix,
    leaseMs: int('leaseMs', options.leaseMs, undefined, 100),
    heartbeatIntervalMs: int('heartbeatIntervalMs', options.heartbeatIntervalMs, undefined, 10),
    blockMs: int('blockMs', options.blockMs, 500, 1)!,
    cleanerIntervalMs: int('cleanerIntervalMs', options.cleanerIntervalMs, 1000, 0)!,
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 5000, 1)!,
    sendTimeoutMs: int('sendTimeoutMs', options.sendTimeoutMs, 30000, 1)!,
  }
}
