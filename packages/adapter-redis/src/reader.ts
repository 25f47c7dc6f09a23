import type { Connection } from './connection.js'
import type { BackendReader, IncomingRecord, PartitionEnd, PartitionReaderOptions } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import type { RedisContext } from './context.js'
import { decodeEntry, type RawEntry } from './records.js'
import { toKeyedError, translated } from './errors.js'
import { compareIds } from './ids.js'

/** Each partition's end: the id of its stream's newest entry, '0-0' for a stream with none. */
export async function endOffsets(
  context: Pick<RedisContext, 'topicMeta' | 'connection' | 'keys' | 'options'>,
  topic: string,
): Promise<PartitionEnd[]> {
  const meta = await context.topicMeta(topic)
  const conn = await context.connection()
  return Promise.all(
    Array.from({ length: meta.partitions }, async (_, partition) => {
      const stream = context.keys.stream(topic, partition)
      const [newest] = (await translated(`read the end of '${topic}'`, context.options.server, () =>
        conn.xrevrange(stream, '+', '-', 'COUNT', 1),
      )) as Array<[string, string[]]>
      return { partition, offset: newest?.[0] ?? '0-0' }
    }),
  )
}

/**
 * Reads partitions with plain XREAD, no consumer group (nothing to acknowledge, nothing left in Redis). One dedicated
 * connection per partition, so each read touches one stream (one Cluster slot) and a blocking read holds only its
 * own connection. Non-blocking reads until the partition is caught up, then blocking reads of blockMs.
 */
export class RedisReader implements BackendReader {
  private stopping = false
  private readonly conns: Connection[] = []
  private loops: Promise<void>[] = []

  constructor(
    private readonly context: Pick<RedisContext, 'topicMeta' | 'dedicated' | 'guard' | 'keys' | 'options'>,
    private readonly options: PartitionReaderOptions,
    private readonly registry: Set<{ close(): Promise<void> }>,
  ) {}

  async start(): Promise<void> {
    const { topic, partitions } = this.options
    const meta = await this.context.topicMeta(topic)
    for (const p of partitions)
      if (!Number.isInteger(p) || p < 0 || p >= meta.partitions)
        throw new ConfigError(`Topic '${topic}' has no partition ${p}.`)
    this.registry.add(this)
    try {
      for (const p of partitions) this.conns.push(await this.context.dedicated(`keyed-table-${topic}-${p}`))
    } catch (error) {
      await this.close()
      throw error
    }
    this.loops = partitions.map((p, i) =>
      this.follow(p, this.conns[i]!).catch((error: unknown) => {
        if (this.stopping) return
        this.stopping = true
        this.options.onError(
          toKeyedError(error, `read partition ${p} of '${this.options.topic}'`, this.context.options.server),
        )
      }),
    )
  }

  /** Drops the connections (a blocked read ends at once) and waits for the batch in flight. */
  async close(): Promise<void> {
    this.stopping = true
    this.registry.delete(this)
    for (const conn of this.conns) conn.disconnect()
    await Promise.all(this.loops)
  }

  private async follow(partition: number, conn: Connection): Promise<void> {
    const { topic, maxBatchSize, until } = this.options
    const stream = this.context.keys.stream(topic, partition)
    const end = until.get(partition) ?? '0-0'
    let cursor = '0-0'
    let caughtUp = false
    while (!this.stopping) {
      const args: Array<string | number> = ['COUNT', maxBatchSize]
      if (caughtUp) args.push('BLOCK', this.context.options.blockMs)
      args.push('STREAMS', stream, cursor)
      let reply: Array<[Buffer, RawEntry[]]> | null
      try {
        // A reconnect refused the credentials drops the connection: the read fails with AuthenticationError (onError).
        reply = (await this.context.guard(conn, conn.callBuffer('XREAD', ...args))) as Array<
          [Buffer, RawEntry[]]
        > | null
      } catch (error) {
        if (this.stopping) return
        throw error
      }
      if (this.stopping) return
      const entries = reply?.[0]?.[1] ?? []
      const records: IncomingRecord[] = []
      for (const entry of entries) {
        const record = decodeEntry(topic, partition, entry)
        if (record) records.push(record)
      }
      if (entries.length > 0) cursor = entries[entries.length - 1]![0].toString('latin1')
      // A read that did not fill its COUNT found the stream's end, which lies past the end captured before the start.
      const reached = entries.length < maxBatchSize || compareIds(cursor, end) >= 0
      if (records.length === 0 && (caughtUp || !reached)) continue
      caughtUp ||= reached
      await this.options.onBatch({ topic, partition, records, caughtUp })
    }
  }
}
