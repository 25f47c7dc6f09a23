import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { assignPartitions, ConfigError, FencedError, TimeoutError } from '@keyed/sdk/backend'
import type { BackendConsumer, CommitOffset, GroupMemberOptions, IncomingRecord, PartitionBatch } from '@keyed/sdk/backend'
import type { RedisBackend } from './backend.js'
import { Script } from './connection.js'
import { deadline, within } from './within.js'
import { replyCode, toKeyedError, translated } from './errors.js'
import { CONSUMER_NAME } from './keys.js'
import { decodeEntry, type RawEntry } from './records.js'
import { ACQUIRE, COMMIT, HEARTBEAT, RELEASE, RENEW } from './scripts.js'

const acquire = new Script(ACQUIRE)
const renew = new Script(RENEW)
const release = new Script(RELEASE)
const commitScript = new Script(COMMIT)
const heartbeat = new Script(HEARTBEAT)

/** While a wanted partition is still held by its previous owner, try again this often. */
const ACQUIRE_RETRY_MS = 50

interface Owned {
  readonly topic: string
  readonly partition: number
  readonly stream: string
  readonly lease: string
  readonly token: string
  /** Local deadline before which the lease surely still holds in Redis (renewal sent before it was stamped). */
  validUntil: number
  /** Revoked, lost or closing: the reader stops and the lease is released (if still ours). */
  stopping: boolean
  /** Ids handed to the application and not acknowledged yet, in order. */
  readonly delivered: string[]
  reader: Redis | undefined
  readerId: number | undefined
  done: Promise<void>
}

/**
 * A group member with exclusive partition ownership. Every member heartbeats into the group's member set, computes
 * the same plan with assignPartitions, releases what it no longer should own (after its batch in flight) and takes
 * what it should once the previous owner released it or its lease expired. A lease is a token in Redis with a TTL;
 * acknowledgements run in a script that checks the token, so a member that lost its lease cannot commit.
 */
export class RedisGroupMember implements BackendConsumer {
  private readonly memberId: string
  private readonly owned = new Map<string, Owned>()
  private readonly partitions = new Map<string, number>()
  private readonly leaseMs: number
  private readonly heartbeatMs: number
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> = Promise.resolve()
  private started = false
  /** The partitions the latest plan gives this member. */
  private wanted = new Set<string>()
  private closing = false
  private closed: Promise<void> | undefined

  constructor(
    private readonly backend: RedisBackend,
    private readonly options: GroupMemberOptions,
  ) {
    // Readable in XINFO and member sets; '/' separates the member from the epoch in lease tokens.
    this.memberId = `${(options.clientId ?? 'member').replace(/[/\s]/g, '_')}-${randomUUID()}`
    this.leaseMs = backend.options.leaseMs ?? options.sessionTimeoutMs
    this.heartbeatMs = backend.options.heartbeatIntervalMs ?? options.heartbeatIntervalMs
    if (this.heartbeatMs * 2 > this.leaseMs) {
      throw new ConfigError(
        `The Redis lease (${this.leaseMs} ms) must be at least twice the heartbeat interval (${this.heartbeatMs} ms), or owners lose partitions between renewals. Raise sessionTimeoutMs/leaseMs or lower heartbeatIntervalMs.`,
      )
    }
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await translated(`join group '${this.options.groupId}'`, this.backend.options.server, () => this.join())
  }

  private async join(): Promise<void> {
    const conn = await this.backend.connection()
    const { keys } = this.backend
    for (const sub of this.options.subscriptions) {
      const meta = await this.backend.topicMeta(sub.topic)
      this.partitions.set(sub.topic, meta.partitions)
      // The group's starting point is fixed when its first member joins, so records produced after start() are read.
      await Promise.all(
        Array.from({ length: meta.partitions }, (_, p) =>
          conn.xgroup('CREATE', keys.stream(sub.topic, p), this.options.groupId, sub.fromBeginning ? '0' : '$', 'MKSTREAM').catch((error: unknown) => {
            if (replyCode(error) !== 'BUSYGROUP') throw error
          }),
        ),
      )
    }
    try {
      await this.tick()
    } catch (error) {
      await this.close()
      throw error
    }
    // Joining means taking part in the assignment: wait until the partitions the plan gives this member are ours
    // (their previous owners release them after their batch in flight, or their leases expire).
    const deadline = Date.now() + this.leaseMs + 2 * this.heartbeatMs
    while (!this.closing && Date.now() < deadline && [...this.wanted].some((id) => !this.owned.has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Bounded by sendTimeoutMs like a send: a commit that waited that long through an outage fails with TimeoutError. */
  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    const { server, sendTimeoutMs } = this.backend.options
    await deadline(
      translated(`commit for group '${this.options.groupId}'`, server, () => this.acknowledge(offsets)),
      sendTimeoutMs,
      () =>
        new TimeoutError(
          `A commit of group '${this.options.groupId}' on ${server.display}`,
          sendTimeoutMs,
          'The server did not answer; the records stay uncommitted and are delivered again. Raise redis({ sendTimeoutMs }) to wait longer through outages.',
        ),
    )
  }

  private async acknowledge(offsets: readonly CommitOffset[]): Promise<void> {
    const conn = await this.backend.connection()
    await Promise.all(
      offsets.map(async ({ topic, partition, offset }) => {
        const own = this.owned.get(`${topic}:${partition}`)
        if (!own) throw this.fenced(topic, partition)
        const ids = own.delivered.splice(0, countUpTo(own.delivered, offset))
        const acked = await commitScript.run<number>(conn, [own.stream, own.lease], [own.token, this.options.groupId, ...ids])
        if (acked < 0) {
          own.stopping = true
          throw this.fenced(topic, partition)
        }
      }),
    )
  }

  /**
   * Waits for the batches in flight, releases the leases and leaves the group, within sendTimeoutMs. Past it (the
   * server gone or frozen, a handler that never returns) it drops its readers and resolves: what it still held expires
   * on its own (leases after leaseMs, membership after sessionTimeoutMs). Every call gets the same close.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown()
    return this.closed
  }

  private async shutdown(): Promise<void> {
    this.closing = true
    clearTimeout(this.timer)
    for (const own of this.owned.values()) this.stop(own)
    const graceful = (async () => {
      await this.ticking
      for (const own of this.owned.values()) this.stop(own)
      await Promise.all([...this.owned.values()].map((o) => o.done))
      if (this.started) await this.leave()
    })()
    if (!(await within(graceful, this.backend.options.sendTimeoutMs))) {
      // Nothing here may wait any longer: the releases and the leave go out without waiting for an answer.
      for (const own of this.owned.values()) {
        own.reader?.disconnect()
        void this.release(own)
      }
      if (this.started) void this.leave()
    }
    this.backend.forget(this)
  }

  private async leave(): Promise<void> {
    const conn = await this.backend.connection().catch(() => undefined)
    if (conn) await heartbeat.run(conn, this.memberKeys(), [this.memberId, this.options.sessionTimeoutMs, '1']).catch(() => undefined)
  }

  private async release(own: Owned): Promise<void> {
    try {
      const conn = await this.backend.connection()
      await release.run(conn, [own.lease], [own.token])
    } catch {
      // The lease expires on its own.
    }
  }

  private fenced(topic: string, partition: number): FencedError {
    return new FencedError(
      `Group '${this.options.groupId}' member lost partition ${partition} of '${topic}' (rebalanced, or its lease of ${this.leaseMs} ms expired); ` +
        `the commit was refused and the new owner resumes from the last commit.`,
    )
  }

  private memberKeys(): string[] {
    return this.options.subscriptions.map((s) => this.backend.keys.members(this.options.groupId, s.topic))
  }

  private schedule(delay: number): void {
    if (this.closing) return
    this.timer = setTimeout(() => {
      this.ticking = this.tick().catch(() => undefined)
    }, delay)
  }

  /** Heartbeat, renew what is owned, let go of what is no longer ours, take what is now ours. */
  private async tick(): Promise<void> {
    let waiting = false
    try {
      const conn = await this.backend.connection()
      const sent = Date.now()
      const keys = this.memberKeys()
      const live = await heartbeat.run<string[][]>(conn, keys, [this.memberId, this.options.sessionTimeoutMs, '0'])
      if (this.closing) return
      const wanted = new Set<string>()
      this.wanted = wanted
      this.options.subscriptions.forEach((sub, i) => {
        const all = Array.from({ length: this.partitions.get(sub.topic) ?? 0 }, (_, p) => ({ topic: sub.topic, partition: p }))
        const mine = assignPartitions(live[i] ?? [], all).get(this.memberId) ?? []
        for (const tp of mine) wanted.add(`${tp.topic}:${tp.partition}`)
      })
      await Promise.all(
        [...this.owned.entries()].map(async ([id, own]) => {
          if (own.stopping) return
          if (!wanted.has(id)) return this.stop(own)
          const held = await renew.run<number>(conn, [own.lease], [own.token, this.leaseMs])
          if (held === 1) own.validUntil = sent + this.leaseMs - this.margin()
          else this.stop(own)
        }),
      )
      await Promise.all(
        [...wanted].filter((id) => !this.owned.has(id)).map(async (id) => {
          const sep = id.lastIndexOf(':')
          const topic = id.slice(0, sep)
          const partition = Number(id.slice(sep + 1))
          const lease = this.backend.keys.lease(topic, partition, this.options.groupId)
          const at = Date.now()
          const token = await acquire.run<string | null>(conn, [lease, this.backend.keys.epoch(topic, partition, this.options.groupId)], [this.memberId, this.leaseMs])
          if (!token) {
            waiting = true
            return
          }
          if (this.closing || this.owned.has(id)) {
            await release.run(conn, [lease], [token])
            return
          }
          this.take(id, topic, partition, lease, token, at + this.leaseMs - this.margin())
        }),
      )
    } finally {
      this.schedule(waiting ? Math.min(ACQUIRE_RETRY_MS, this.heartbeatMs) : this.heartbeatMs)
    }
  }

  private margin(): number {
    return Math.min(500, Math.floor(this.leaseMs / 10))
  }

  private take(id: string, topic: string, partition: number, lease: string, token: string, validUntil: number): void {
    const own: Owned = {
      topic,
      partition,
      stream: this.backend.keys.stream(topic, partition),
      lease,
      token,
      validUntil,
      stopping: false,
      delivered: [],
      reader: undefined,
      readerId: undefined,
      done: Promise.resolve(),
    }
    this.owned.set(id, own)
    own.done = this.read(own)
      .catch((error: unknown) => {
        // A passing failure (an outage) ends this reader; the next tick takes the partition again. A refusal would
        // repeat forever: the member stops and the SDK stops the consumer with it.
        const failure = toKeyedError(error, `read partition ${partition} of '${topic}'`, this.backend.options.server)
        if (this.closing || failure.retriable) return
        void this.close()
        this.options.onFatal?.(failure)
      })
      .finally(() => this.letGo(id, own))
  }

  private isActive(own: Owned): boolean {
    return !own.stopping && !this.closing && Date.now() < own.validUntil
  }

  /** Stops the partition's reader; a blocked read is woken so the lease is handed over without waiting blockMs. */
  private stop(own: Owned): void {
    if (own.stopping) return
    own.stopping = true
    if (own.readerId !== undefined) {
      void this.backend.connection().then((c) => c.client('UNBLOCK', own.readerId!)).catch(() => undefined)
    }
  }

  /** After the reader finished (no read in flight, no batch in flight): release the lease if it is still ours. */
  private async letGo(id: string, own: Owned): Promise<void> {
    own.stopping = true
    own.reader?.disconnect()
    await this.release(own)
    if (this.owned.get(id) === own) this.owned.delete(id)
  }

  /**
   * Reads the partition's pending entries (delivered to a previous owner or lost in a reply) in order, then new ones.
   * After a reconnect it reads pending entries again from the last id it saw: a read the server ran whose reply was
   * lost left its entries pending.
   */
  private async read(own: Owned): Promise<void> {
    const reader = await this.backend.dedicated(`keyed-reader-${own.topic}-${own.partition}`)
    own.reader = reader
    let readies = 0
    reader.on('ready', () => {
      readies++
      reader.client('ID').then((id) => (own.readerId = Number(id)), () => undefined)
    })
    own.readerId = Number(await reader.client('ID'))
    let seen = readies
    let cursor = '0-0'
    let pending = true
    const { groupId, maxBatchSize } = this.options
    while (this.isActive(own)) {
      if (readies !== seen) {
        seen = readies
        pending = true
      }
      const args: Array<string | number> = ['GROUP', groupId, CONSUMER_NAME, 'COUNT', maxBatchSize]
      if (!pending) args.push('BLOCK', this.backend.options.blockMs)
      args.push('STREAMS', own.stream, pending ? cursor : '>')
      let reply: Array<[Buffer, RawEntry[]]> | null
      try {
        reply = (await reader.callBuffer('XREADGROUP', ...args)) as Array<[Buffer, RawEntry[]]> | null
      } catch (error) {
        // The stream was deleted (or the group destroyed) under us: start over from what is there now.
        const code = replyCode(error)
        if (code !== 'NOGROUP' && code !== 'UNBLOCKED') throw error
        await reader.xgroup('CREATE', own.stream, groupId, '0', 'MKSTREAM').catch(() => undefined)
        continue
      }
      // A read resent after a reconnect may skip entries an earlier, lost reply delivered: they are pending now, and
      // handling the later entries first would commit (acknowledge) the lost ones unseen. Read the pending list instead.
      if (readies !== seen) continue
      const entries = reply?.[0]?.[1] ?? []
      if (entries.length === 0) {
        pending = false
        continue
      }
      cursor = entries[entries.length - 1]![0].toString('latin1')
      if (!this.isActive(own)) break // still pending; the next owner (or this one, later) reads them first
      const records: IncomingRecord[] = []
      for (const entry of entries) {
        const record = decodeEntry(own.topic, own.partition, entry)
        own.delivered.push(record ? record.offset : entry[0].toString('latin1'))
        if (record) records.push(record)
      }
      if (records.length === 0) {
        // Pending entries deleted by compaction or retention since delivery: acknowledge and move on.
        await this.commit([{ topic: own.topic, partition: own.partition, offset: cursor }]).catch(() => undefined)
        continue
      }
      const batch: PartitionBatch = {
        topic: own.topic,
        partition: own.partition,
        records,
        isActive: () => this.isActive(own),
        heartbeat: async () => {
          const conn = await this.backend.connection()
          const sent = Date.now()
          if ((await renew.run<number>(conn, [own.lease], [own.token, this.leaseMs])) === 1) own.validUntil = sent + this.leaseMs - this.margin()
          else this.stop(own)
        },
      }
      await this.options.onBatch(batch)
    }
  }
}

/** How many of the ascending stream ids are at or before the offset. */
function countUpTo(ids: readonly string[], offset: string): number {
  const [ms, seq] = splitId(offset)
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const [m, s] = splitId(ids[mid]!)
    if (m < ms || (m === ms && s <= seq)) lo = mid + 1
    else hi = mid
  }
  return lo
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-')
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}
