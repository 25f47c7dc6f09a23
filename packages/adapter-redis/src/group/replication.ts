import type { Connection } from '../connection.js'
import type { RedisContext } from '../context.js'
import { detectReplicas } from '../replicas.js'
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
  private waiting: Promise<{ replicas: number; conn: Connection | undefined }> | undefined

  constructor(private readonly context: Pick<RedisContext, 'options' | 'connection' | 'dedicated'>) {}

  /** The script's reply, and whether the replicas asked for confirmed the write (always true without replicas). */
  async run<K extends readonly string[], A extends readonly Arg[], R>(
    script: Script<K, A, R>,
    keys: K,
    args: A,
  ): Promise<{ reply: R; replicated: boolean }> {
    const { replicas, conn } = await this.target()
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
    const pending = this.waiting
    this.waiting = undefined
    void pending?.then(
      ({ conn }) => conn?.disconnect(),
      () => undefined,
    )
  }

  private target(): Promise<{ replicas: number; conn: Connection | undefined }> {
    this.waiting ??= (async () => {
      const { options } = this.context
      if (options.groupAcks === 'leader') return { replicas: 0, conn: undefined }
      const replicas =
        options.replicas ?? (await detectReplicas(await this.context.connection(), options.cluster !== undefined))
      return { replicas, conn: replicas > 0 ? await this.context.dedicated('keyed-group') : undefined }
    })()
    const pending = this.waiting
    pending.catch(() => {
      if (this.waiting === pending) this.waiting = undefined
    })
    return pending
  }
}
