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
export class GroupReplication {
  private readonly waiting: ReplicaWait

  constructor(private readonly context: Pick<RedisContext, 'options' | 'connection' | 'dedicated'>) {
    this.waiting = new ReplicaWait(context, 'keyed-group', context.options.groupAcks === 'all')
  }

  /** The script's reply, and whether the replicas asked for confirmed the write (always true without replicas). */
  async run<K extends readonly string[], A extends readonly Arg[], R>(
    script: Script<K, A, R>,
    keys: K,
    args: A,
  ): Promise<{ reply: R; replicated: boolean }> {
    const { replicas, conn } = await this.waiting.target()
    if (!conn) return { reply: await script.run(await this.context.connection(), keys, args), replicated: true }
    const { replicaTimeoutMs, sendTimeoutMs } = this.context.options
    const { replies, acked } = await script.runAllThenWait(
      conn,
      [{ keys, args }],
      replicas,
      replicaTimeoutMs,
      Date.now() + sendTimeoutMs,
    )
    return { reply: replies[0]!, replicated: acked >= replicas }
  }

  close(): void {
    void this.waiting.close()
  }
}
