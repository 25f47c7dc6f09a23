import type { RedisContext } from '../context.js'
import { ReplicaWait } from '../replicas.js'
import type { Script } from '../scripts.js'

type Arg = string | number | Buffer

/**
 * A group member's writes that must survive a failover: lease acquisitions and renewals, and commits. With replicas
 * (redis({ replicas }), or what the server or cluster has), each is followed by WAIT on a connection of the member's
 * own (WAIT blocks its connection: reads and heartbeats must not queue behind it), and counts as done only once
 * enough replicas have it. Replication is asynchronous: a write the primary applied but no replica confirmed may be
 * gone after a failover, so a lease is only held as far as a replica confirmed it. Without replicas, or with
 * redis({ groupAcks: 'leader' }), it is a plain run.
 */
/** How often a member that cannot get its writes confirmed says so. */
const UNCONFIRMED_WARNING_MS = 10_000

export class GroupReplication {
  private readonly waiting: ReplicaWait
  private warnedAt = -Infinity

  constructor(
    private readonly context: Pick<
      RedisContext,
      'options' | 'connection' | 'dedicated' | 'refusal' | 'guard' | 'logger'
    >,
    private readonly groupId: string,
  ) {
    this.waiting = new ReplicaWait(context, 'keyed-group', context.options.groupAcks === 'all')
  }

  /** The script's reply, and whether the replicas asked for confirmed the write (always true without replicas). */
  async run<K extends readonly string[], A extends readonly Arg[], R>(
    script: Script<K, A, R>,
    keys: K,
    args: A,
  ): Promise<{ reply: R; replicated: boolean }> {
    const { replicas, conn } = await this.waiting.target()
    // A connection dropped for refused credentials never answers a call written before: guard() fails it with that.
    if (!conn) {
      const shared = await this.context.connection()
      return { reply: await this.context.guard(shared, script.run(shared, keys, args)), replicated: true }
    }
    const { replicaTimeoutMs, sendTimeoutMs } = this.context.options
    const { replies, acked } = await this.context.guard(
      conn,
      script.runAllThenWait(conn, [{ keys, args }], replicas, replicaTimeoutMs, Date.now() + sendTimeoutMs),
    )
    const replicated = acked >= replicas
    if (!replicated) this.unconfirmed(script.name, acked, replicas)
    return { reply: replies[0]!, replicated }
  }

  /**
   * A lease no replica confirmed is not held, so its partition is not handled: without a word that would look like an
   * idle topic. Said through the client's logger, at most every UNCONFIRMED_WARNING_MS.
   */
  private unconfirmed(write: string, acked: number, replicas: number): void {
    const now = Date.now()
    if (now - this.warnedAt < UNCONFIRMED_WARNING_MS) return
    this.warnedAt = now
    const { replicaTimeoutMs } = this.context.options
    this.context.logger.warn(
      { groupId: this.groupId, write, acked, replicas, replicaTimeoutMs },
      `keyed: group '${this.groupId}' could not get its ${write === 'commit' ? 'commits' : 'partition leases'} confirmed by ${replicas} replica(s) ` +
        `within replicaTimeoutMs (${replicaTimeoutMs} ms; ${acked} answered). Partitions whose lease is unconfirmed are not handled, and unconfirmed ` +
        `commits may be delivered again after a failover, until a replica answers. redis({ groupAcks: 'leader' }) handles without replicas (see the adapter README).`,
    )
  }

  close(): void {
    void this.waiting.close()
  }
}
