import type { Connection } from './connection.js'
import type { RedisContext } from './context.js'

/**
 * How many replicas acks 'all' waits for when redis({ replicas }) is not given: 1 when there are replicas to wait
 * for, 0 otherwise (a WAIT on a server without replicas would only ever time out). On a cluster: when any primary has
 * a replica in the topology (CLUSTER NODES, failed ones included: a primary whose replica is down then fails its
 * sends with TimeoutError, as Kafka refuses acks=all below min.insync.replicas). On a server: its connected replicas.
 */
export async function detectReplicas(conn: Connection, cluster: boolean): Promise<number> {
  if (cluster) {
    const nodes = String(await conn.call('CLUSTER', 'NODES'))
    // Each line: <id> <address> <flags,comma,separated> <primary id> …
    const flags = nodes.split('\n').map((line) => (line.split(' ')[2] ?? '').split(','))
    return flags.some((f) => f.includes('slave') || f.includes('replica')) ? 1 : 0
  }
  const info = await conn.info('replication')
  return Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) > 0 ? 1 : 0
}

/** What a WAIT needs: how many replicas to wait for, and the connection to send it on (none when there are none). */
export interface WaitTarget {
  readonly replicas: number
  readonly conn: Connection | undefined
}

/**
 * The WAIT target of one producer or group member, found on first use and kept (a failed lookup is tried again on the
 * next): redis({ replicas }) or what the server has, and a connection of its own, since WAIT blocks its connection
 * until the replicas answer and nothing else (heartbeats, renewals, reads) may queue behind it. A connection dropped
 * for refused credentials is not kept: the next lookup connects anew (AuthenticationError at once while refused).
 */
export class ReplicaWait {
  private pending: Promise<WaitTarget> | undefined
  /** What `pending` resolved to. */
  private found: WaitTarget | undefined

  constructor(
    private readonly context: Pick<RedisContext, 'options' | 'connection' | 'dedicated' | 'refusal'>,
    private readonly connectionName: string,
    /** False: nothing waits (acks 'leader', groupAcks 'leader'). */
    private readonly wanted: boolean,
  ) {}

  target(): Promise<WaitTarget> {
    if (this.found?.conn && this.context.refusal(this.found.conn)) {
      this.pending = undefined
      this.found = undefined
    }
    this.pending ??= (async () => {
      if (!this.wanted) return { replicas: 0, conn: undefined }
      const { options } = this.context
      const replicas =
        options.replicas ?? (await detectReplicas(await this.context.connection(), options.cluster !== undefined))
      return { replicas, conn: replicas > 0 ? await this.context.dedicated(this.connectionName) : undefined }
    })()
    const pending = this.pending
    pending.then(
      (target) => {
        if (this.pending === pending) this.found = target
      },
      () => {
        if (this.pending === pending) this.pending = undefined
      },
    )
    return pending
  }

  /** Disconnects its connection, once any lookup in progress ended. */
  async close(): Promise<void> {
    const pending = this.pending
    this.pending = undefined
    this.found = undefined
    const target = await pending?.catch(() => undefined)
    target?.conn?.disconnect()
  }
}
