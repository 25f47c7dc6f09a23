import type { Connection } from '../connection.js'
import { acquire, release, renew } from '../scripts.js'

/**
 * A partition lease this member holds: a token ('<member>/<epoch>') in Redis with a TTL, and a local deadline before
 * which it surely still holds there. The deadline counts from when a renewal was *sent*, minus a margin, so a member
 * resumed after a pause stops before touching another record without asking Redis.
 */
export class Lease {
  private validUntil: number

  private constructor(
    readonly key: string,
    readonly token: string,
    private readonly leaseMs: number,
    sentAt: number,
  ) {
    this.validUntil = this.deadline(sentAt)
  }

  /** The lease, or undefined while another member holds it. */
  static async acquire(
    conn: Connection,
    keys: { lease: string; epoch: string },
    member: string,
    leaseMs: number,
  ): Promise<Lease | undefined> {
    const sentAt = Date.now()
    const token = await acquire.run(conn, [keys.lease, keys.epoch], [member, leaseMs])
    return token === undefined ? undefined : new Lease(keys.lease, token, leaseMs, sentAt)
  }

  /** True until the local deadline. */
  valid(): boolean {
    return Date.now() < this.validUntil
  }

  /** Extends the lease; false when another member holds it now. */
  async renew(conn: Connection): Promise<boolean> {
    const sentAt = Date.now()
    const held = await renew.run(conn, [this.key], [this.token, this.leaseMs])
    if (held) this.validUntil = this.deadline(sentAt)
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
