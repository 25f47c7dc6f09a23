import { ConfigError, integerOption } from '@keyed/sdk/backend'
import { parseRedisUrl, type ServerAddress } from './url.js'

export interface RedisOptions {
  /** redis://[[user]:password@]host[:port][/db], rediss:// for TLS; default redis://127.0.0.1:6379. Percent-encode @ / ? # % in the user or password. */
  url?: string
  /**
   * A Redis Cluster instead of one server: the URLs of some of its nodes (any one that answers is enough; the others
   * are found from it), e.g. ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001']. All share one user, password and
   * scheme, and name no database (a cluster has only db 0). Not together with `url`.
   */
  cluster?: readonly string[]
  /**
   * How many replicas a send with the producer's `acks: 'all'` waits for (`WAIT`) before it resolves. Default: 1 when
   * the server (or, on a cluster, any primary) has replicas, 0 on a server without any. 0 makes 'all' like 'leader'.
   */
  replicas?: number
  /** Longest that WAIT waits for the replicas; fewer by then fails the send with TimeoutError (retriable). Default 1000. */
  replicaTimeoutMs?: number
  /**
   * Consumer groups' writes: 'all' (default) counts a lease acquisition or renewal only once `replicas` replicas
   * confirmed it (WAIT), so a failover never leaves two owners of a partition, and commits wait for them too; while a
   * shard has no replica answering, its partitions are not handled (as Kafka refuses acks=all below
   * min.insync.replicas). 'leader': no WAIT: consumption goes on with a shard's replica down, and a failover that loses
   * a renewal may let two members handle a partition for up to about one heartbeat (only the new owner's commits count).
   */
  groupAcks?: 'all' | 'leader'
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
  /** The server, or on a cluster its first node with a display naming every node (credentials are the same for all). */
  readonly server: ServerAddress
  /** The cluster's nodes; undefined for a single server. */
  readonly cluster: readonly ServerAddress[] | undefined
  readonly replicas: number | undefined
  readonly replicaTimeoutMs: number
  readonly groupAcks: 'all' | 'leader'
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
  if (options.url !== undefined && typeof options.url !== 'string')
    throw new ConfigError(`redis({ url }) must be a string like redis://127.0.0.1:6379, got ${typeof options.url}.`)
  const cluster = options.cluster === undefined ? undefined : clusterNodes(options.cluster, options.url)
  const server = cluster ? clusterAddress(cluster) : parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379')
  const groupAcks = options.groupAcks ?? 'all'
  if (groupAcks !== 'all' && groupAcks !== 'leader')
    throw new ConfigError(`redis({ groupAcks }) must be 'all' or 'leader', got ${JSON.stringify(groupAcks)}.`)
  const keyPrefix = options.keyPrefix ?? 'keyed:'
  if (/[{}]/.test(keyPrefix))
    throw new ConfigError(
      `redis({ keyPrefix }) must not contain '{' or '}': keyed puts its own hash tags after the prefix. Got '${keyPrefix}'.`,
    )
  return {
    server,
    cluster,
    replicas: int('replicas', options.replicas, undefined, 0),
    replicaTimeoutMs: int('replicaTimeoutMs', options.replicaTimeoutMs, 1000, 1)!,
    groupAcks,
    keyPrefix,
    leaseMs: int('leaseMs', options.leaseMs, undefined, 100),
    heartbeatIntervalMs: int('heartbeatIntervalMs', options.heartbeatIntervalMs, undefined, 10),
    blockMs: int('blockMs', options.blockMs, 500, 1)!,
    cleanerIntervalMs: int('cleanerIntervalMs', options.cleanerIntervalMs, 1000, 0)!,
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 5000, 1)!,
    sendTimeoutMs: int('sendTimeoutMs', options.sendTimeoutMs, 30000, 1)!,
  }
}

function clusterNodes(urls: readonly string[], url: string | undefined): ServerAddress[] {
  if (url !== undefined)
    throw new ConfigError(`redis({ url, cluster }): give one of them, the server's URL or the cluster's node URLs.`)
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string')) {
    throw new ConfigError(`redis({ cluster }) must be a non-empty list of node URLs like ['redis://127.0.0.1:7000'].`)
  }
  const nodes = urls.map((u) => parseRedisUrl(u))
  const first = nodes[0]!
  for (const node of nodes) {
    if (node.db !== 0)
      throw new ConfigError(
        `redis({ cluster }) node '${node.display}' names database ${node.db}: a Redis Cluster has only database 0. Drop the /${node.db}.`,
      )
    if (node.username !== first.username || node.password !== first.password || node.tls !== first.tls) {
      throw new ConfigError(
        `redis({ cluster }) nodes '${first.display}' and '${node.display}' differ in user, password or scheme: every node of a cluster is reached with the same ones.`,
      )
    }
  }
  return nodes
}

/** The first node, shown as the whole cluster in messages (passwords redacted). */
function clusterAddress(nodes: readonly ServerAddress[]): ServerAddress {
  const first = nodes[0]!
  const address: ServerAddress = { ...first, display: `Redis Cluster [${nodes.map((n) => n.display).join(', ')}]` }
  Object.defineProperty(address, 'password', { value: first.password, enumerable: false })
  return address
}
