import type { Backend } from '@keyed/sdk/backend'
import { RedisBackend } from './backend.js'
import { resolveOptions, type RedisOptions } from './options.js'

export type { RedisOptions } from './options.js'

/**
 * A keyed backend on Redis Streams (Redis 7+): one stream per partition, consumer groups with exclusive, fenced
 * partition leases, commits as acknowledgements, compaction by a latest-entry index. Connects lazily; an unreachable
 * server fails the first operation with BackendUnavailableError after connectTimeoutMs.
 */
export function redis(options: RedisOptions = {}): Backend {
  return new RedisBackend(resolveOptions(options))
}
