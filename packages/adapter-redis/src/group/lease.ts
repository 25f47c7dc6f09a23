import type { Connection } from '../connection.js'
import { acquire, release, renew } from '../scripts.js'
import type { GroupReplication } from './replication.js'

/**
 * A partition lease this member holds: a token ('<member>/<epoch>') in Redis with a TTL, and a local deadline before
 * which it surely still holds there. The deadline counts from when a renewal was *sent*, minus a margin, so a member
 * resumed after a pause stops before touching another record without asking Redis. With replicas, only a write a
 * replica confirmed moves the deadline: after a failover the promoted replica has at least that lease, so no other
 * member can take the partition before this one stops.
 */
export class Lease {
  private validUntil: number

  private constructor(
    readonly key: string,
    readonly token: string,
    private readonly leaseMs: number,
    /** How this group's writes (the lease's renewals, and commits) are confirmed by replicas. */
    readonly replication: GroupReplication,
    sentAt: number,
  ) {
    this.validUntil = this.deadline(sentAt)
  }

  /**
   * The lease, or undefined while another member holds it, or while no replica confirmed it (the member asks again at
   * its next heartbeat; a lease the primary alone has could vanish in a failover and be handed out again).
   */
  static async acquire(
    replication: GroupReplication,
    keys: { lease: string; epoch: string },
    member: string,
    leaseMs: number,
  ): Promise<Lease | undefined> {
    const sentAt = Date.now()
    const { reply: token, replicated } = await replication.run(acquire, [keys.lease, keys.epoch], [member, leaseMs])
    if (token === undefined || !replicated) return undefined
    return new Lease(keys.lease, token, leaseMs, replication, sentAt)
  }

  /** True until the local deadline. */
  valid(): boolean {
    return Date.now() < this.validUntil
  }

  /**
   * Extends the lease; false when another member holds it now. A renewal no replica confirmed leaves the deadline
   * where it was: the lease runs out here unless a later one is confirmed.
   */
  async renew(): Promise<boolean> {
    const sentAt = Date.now()
    const { reply: held, replicated } = await this.replication.run(renew, [this.key], [this.token, this.leaseMs])
    if (held && replicated) this.validUntil = this.deadline(sentAt)
    return held
  }

  /** Deletes the lease if this token still holds it; otherwise, or on failure, it expires on its own. */
  async release(conn: Connection): Promise<void> {
    this.validUntil = 0
    await release.run(conn, [this.key], [this.token]).catch(() => undefined)
  }

  private deadline(sentAt: number): number {
    return sentAt + this.leaseMs - Math.min(500, Math.floor(this.leaseMs / 10))
  }
}
