import type { Connection } from '../connection.js'
import { isKeyedError, type GroupMemberOptions, type IncomingRecord, type PartitionBatch } from '@keyed/sdk/backend'
import type { RedisContext } from '../context.js'
import { replyCode } from '../errors.js'
import { countUpTo, idBefore } from '../ids.js'
import { CONSUMER_NAME } from '../keys.js'
import { decodeEntry, type RawEntry } from '../records.js'
import { commit, ScriptReplyError, seek } from '../scripts.js'
import type { Lease } from './lease.js'

type Options = Pick<GroupMemberOptions, 'groupId' | 'maxBatchSize' | 'onBatch'>

/**
 * A partition this member owns: its lease, the ids handed to the application and not acknowledged yet, and the loop
 * that reads it on a connection of its own (a blocking read holds its connection).
 */
export class PartitionReader {
  readonly stream: string
  /** Revoked, lost or closing: the loop stops and the lease is released (if still ours). */
  private stopping = false
  /** Ids handed to the application and not acknowledged yet, in order. */
  private readonly delivered: string[] = []
  private conn: Connection | undefined
  private connId: number | undefined
  /** Where seek() moves the next read, applied before it. */
  private seekTo: string | undefined
  /** Ends a wait for resume (or a seek, or stop). */
  private wake: (() => void) | undefined

  constructor(
    private readonly context: Pick<RedisContext, 'options' | 'keys' | 'connection' | 'dedicated' | 'guard' | 'logger'>,
    private readonly options: Options,
    readonly topic: string,
    readonly partition: number,
    readonly lease: Lease,
    /** False once the member closes. */
    private readonly memberActive: () => boolean,
    /** True while the member has this partition paused. */
    private readonly paused: () => boolean = () => false,
  ) {
    this.stream = context.keys.stream(topic, partition)
  }

  get stopped(): boolean {
    return this.stopping
  }

  isActive(): boolean {
    return !this.stopping && this.memberActive() && this.lease.valid()
  }

  /** Stops the loop; a blocked read is woken so the lease is handed over without waiting blockMs. */
  stop(): void {
    if (this.stopping) return
    this.stopping = true
    this.wake?.()
    this.unblock()
  }

  /** The next batch starts at this entry id: applied by the loop before its next read (a blocked read is woken). */
  seek(offset: string): void {
    this.seekTo = offset
    this.wake?.()
    this.unblock()
  }

  /** The member resumed this partition: a loop waiting out the pause goes on. */
  resumed(): void {
    this.wake?.()
  }

  private unblock(): void {
    const id = this.connId
    if (id !== undefined)
      void this.context
        .connection()
        .then((c) => c.client('UNBLOCK', id))
        .catch(() => undefined)
  }

  /** Closes the reading connection (a read in flight fails at once). */
  drop(): void {
    this.stopping = true
    this.conn?.disconnect()
  }

  /**
   * Acknowledges every id handed out up to the offset, if the lease still holds; false when fenced. A commit no
   * replica confirmed stands on the primary; a failover now would deliver its records again (at-least-once), so it is
   * a warning (GroupReplication says it), not a failure.
   */
  async acknowledge(offset: string): Promise<boolean> {
    const ids = this.delivered.splice(0, countUpTo(this.delivered, offset))
    const { reply } = await this.lease.replication.run(
      commit,
      [this.stream, this.lease.key],
      [this.lease.token, this.options.groupId, ...ids],
    )
    if (reply.fenced) this.stopping = true
    return !reply.fenced
  }

  /**
   * Reads the partition's pending entries (delivered to a previous owner or lost in a reply) in order, then new ones.
   * After a reconnect it reads pending entries again from the last id it saw: a read the server ran whose reply was
   * lost left its entries pending. A reconnect refused the credentials drops the connection and fails the read with
   * AuthenticationError (guard): the member stops with it, rather than holding a partition it can no longer read.
   */
  async read(): Promise<void> {
    const reader = await this.context.dedicated(`keyed-reader-${this.topic}-${this.partition}`)
    this.conn = reader
    if (this.stopping) return
    const guarded = <T>(work: Promise<T>) => this.context.guard(reader, work)
    let readies = 0
    if (this.context.options.cluster) {
      // A cluster client has no single connection id (CLIENT UNBLOCK would hit a random node, where the id may be
      // someone else's): stop() waits for the read to end within blockMs. A node lost or reconnected counts as a reconnect.
      reader.on('-node', () => readies++)
      reader.on('node error', () => readies++)
    } else {
      reader.on('ready', () => {
        readies++
        reader.client('ID').then(
          (id) => (this.connId = Number(id)),
          () => undefined,
        )
      })
      this.connId = Number(await guarded(reader.client('ID')))
    }
    let seen = readies
    let cursor = '0-0'
    let pending = true
    const { groupId, maxBatchSize } = this.options
    while (this.isActive()) {
      if (this.seekTo !== undefined) {
        await this.applySeek()
        // The seek acknowledged everything pending: the next read is of new entries, from the sought id.
        pending = false
        continue
      }
      if (this.paused()) {
        // The lease is renewed by the member's heartbeat meanwhile: the partition stays ours however long this lasts.
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = undefined
        continue
      }
      if (readies !== seen) {
        seen = readies
        pending = true
      }
      const args: Array<string | number> = ['GROUP', groupId, CONSUMER_NAME, 'COUNT', maxBatchSize]
      if (!pending) args.push('BLOCK', this.context.options.blockMs)
      args.push('STREAMS', this.stream, pending ? cursor : '>')
      let reply: unknown
      try {
        reply = await guarded(reader.callBuffer('XREADGROUP', ...args))
      } catch (error) {
        const code = replyCode(error)
        if (code !== 'NOGROUP' && code !== 'UNBLOCKED') throw error
        if (code === 'NOGROUP') {
          // The stream was deleted (or the group destroyed, XGROUP DESTROY) under us: start over from what is there
          // now, at its first entry, so nothing is skipped; what the group had finished is handled again.
          this.context.logger.warn(
            { topic: this.topic, partition: this.partition, groupId, stream: this.stream },
            `keyed: the consumer group '${groupId}' of ${this.topic}[${this.partition}] was gone from Redis (stream deleted or group destroyed while this member read it); ` +
              'it was created again at the start of the stream, so the records still there are handled again (at-least-once).',
          )
        }
        await guarded(reader.xgroup('CREATE', this.stream, groupId, '0', 'MKSTREAM')).catch((error: unknown) => {
          if (isKeyedError(error, 'AUTHENTICATION')) throw error
        })
        continue
      }
      // A read resent after a reconnect may skip entries an earlier, lost reply delivered: they are pending now, and
      // handling the later entries first would commit (acknowledge) the lost ones unseen. Read the pending list instead.
      if (readies !== seen) continue
      // Read from the old position: they stay pending, and the seek drops them from the pending list.
      if (this.seekTo !== undefined) continue
      const entries = streamEntries(reply)
      if (entries.length === 0) {
        pending = false
        continue
      }
      cursor = entries[entries.length - 1]![0].toString('latin1')
      if (!this.isActive()) break // still pending; the next owner (or this one, later) reads them first
      const records: IncomingRecord[] = []
      for (const entry of entries) {
        const record = decodeEntry(this.topic, this.partition, entry)
        this.delivered.push(record ? record.offset : entry[0].toString('latin1'))
        if (record) records.push(record)
      }
      if (records.length === 0) {
        // Pending entries deleted by compaction or retention since delivery: acknowledge and move on.
        await this.acknowledge(cursor).catch(() => undefined)
        continue
      }
      await this.options.onBatch(this.batch(records))
    }
  }

  /** Moves the group's position under this member's lease (fenced like a commit) and forgets what was handed out. */
  private async applySeek(): Promise<void> {
    const target = this.seekTo!
    this.seekTo = undefined
    const conn = await this.context.connection()
    const reply = await seek.run(
      conn,
      [this.stream, this.lease.key],
      [this.lease.token, this.options.groupId, idBefore(target)],
    )
    if (reply === -1) this.stopping = true
    else this.delivered.length = 0
  }

  private batch(records: readonly IncomingRecord[]): PartitionBatch {
    return {
      topic: this.topic,
      partition: this.partition,
      records,
      isActive: () => this.isActive(),
      heartbeat: async () => {
        if (!(await this.lease.renew())) this.stop()
      },
    }
  }
}

/** The entries of a one-stream XREADGROUP reply with buffer replies (null: nothing before the block timed out). */
function streamEntries(reply: unknown): RawEntry[] {
  if (reply === null) return []
  const stream: unknown = Array.isArray(reply) ? reply[0] : undefined
  const entries: unknown = Array.isArray(stream) ? stream[1] : undefined
  if (!Array.isArray(entries)) throw new ScriptReplyError('XREADGROUP', '[[stream, entries]]', reply)
  return entries as RawEntry[]
}
