import { safeCause } from './errors.js'
import type { RedisContext } from './context.js'
import { compact, retain } from './scripts.js'
import { hasRetention, isCompacted, type TopicMeta } from './topics.js'

const CHUNK = 1000

/**
 * Compaction and retention for the topics this backend touched. Any number of clients may run it at once: each
 * chunk is one atomic script. Like Kafka's cleaner it ignores consumer positions: a group that has not read a
 * superseded record yet never sees it, and a pending entry deleted meanwhile is acknowledged and skipped.
 */
export class Cleaner {
  private readonly topics = new Map<string, TopicMeta>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(
    private readonly context: Pick<RedisContext, 'connection' | 'keys' | 'logger' | 'options'>,
    private readonly intervalMs: number,
  ) {}

  watch(meta: TopicMeta): void {
    if (this.intervalMs === 0 || this.stopped || !(isCompacted(meta) || hasRetention(meta))) return
    this.topics.set(meta.name, meta)
    this.schedule()
  }

  private schedule(): void {
    if (this.timer || this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.running = this.pass()
        // A pass during an outage is simply retried on the next tick.
        .catch((error: unknown) =>
          this.context.logger.debug(
            { server: this.context.options.server.display, err: safeCause(error, this.context.options.server) },
            'redis cleaner pass failed; retrying on the next tick',
          ),
        )
        .finally(() => this.schedule())
    }, this.intervalMs)
    this.timer.unref()
  }

  /** One pass over every watched partition. Exposed for tests that do not want to wait for the timer. */
  async pass(): Promise<void> {
    const conn = await this.context.connection()
    const { keys } = this.context
    for (const meta of this.topics.values()) {
      for (let p = 0; p < meta.partitions && !this.stopped; p++) {
        const stream = keys.stream(meta.name, p)
        if (hasRetention(meta)) await retain.run(conn, [stream], [meta.retentionMs, meta.retentionBytes])
        if (!isCompacted(meta)) continue
        const dirty = Number((await conn.get(keys.dirty(meta.name, p))) ?? 0)
        if (dirty <= 0) continue
        let cursor = '-'
        let held = 0
        for (;;) {
          const { last, scanned, heldBack } = await compact.run(
            conn,
            [stream, keys.index(meta.name, p)],
            [cursor, CHUNK, meta.minCompactionLagMs, meta.deleteRetentionMs],
          )
          held += heldBack
          cursor = last
          if (scanned < CHUNK) break
        }
        // Work held back by the lag or the tombstone retention keeps the partition dirty for a later pass.
        if (held === 0) await conn.decrby(keys.dirty(meta.name, p), dirty)
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }
}
