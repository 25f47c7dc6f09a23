import type { BackendProducer, OutgoingRecord, RecordMetadata } from '@keyed/sdk/backend'
import { ClosedError, TimeoutError } from '@keyed/sdk/backend'
import { translated } from './errors.js'
import { deadline } from './within.js'
import type { RedisContext } from './context.js'
import { appendArgs } from './records.js'
import { append, ScriptReplyError, type AppendArgs } from './scripts.js'
import { isCompacted } from './topics.js'

export class RedisProducer implements BackendProducer {
  private closed = false
  private readonly inFlight = new Set<Promise<unknown>>()
  constructor(private readonly context: Pick<RedisContext, 'options' | 'keys' | 'connection' | 'topicMeta'>) {}

  /** One APPEND script per partition: a partition's records land together or not at all; partitions go out pipelined. */
  async send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw new ClosedError('producer')
    // Commands wait through reconnects (a restart should not fail sends), but not forever.
    const { sendTimeoutMs, server } = this.context.options
    const sending = deadline(
      translated(`append ${records.length} record(s)`, server, () => this.append(records)),
      sendTimeoutMs,
      () =>
        new TimeoutError(
          `A send of ${records.length} record(s) to ${server.display}`,
          sendTimeoutMs,
          'The server did not answer (down, restarting or frozen). The records may still be appended when it comes back: ' +
            'sending again is at-least-once. Raise redis({ sendTimeoutMs }) to wait longer through outages.',
        ),
    )
    this.inFlight.add(sending)
    try {
      return await sending
    } finally {
      this.inFlight.delete(sending)
    }
  }

  private async append(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    const conn = await this.context.connection()
    const groups = new Map<string, number[]>()
    records.forEach((r, i) => {
      const id = `${r.partition}:${r.topic}`
      const list = groups.get(id)
      if (list) list.push(i)
      else groups.set(id, [i])
    })
    const out: RecordMetadata[] = new Array(records.length)
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const first = records[indexes[0]!]!
        const meta = await this.context.topicMeta(first.topic)
        const { keys } = this.context
        const stream = keys.stream(first.topic, first.partition)
        const args: AppendArgs = []
        for (const i of indexes) appendArgs(records[i]!, args)
        const ids = await append.run(
          conn,
          isCompacted(meta) ? [stream, keys.index(first.topic, first.partition), keys.dirty(first.topic, first.partition)] : [stream],
          args,
        )
        if (ids.length !== indexes.length) throw new ScriptReplyError(append.name, `${indexes.length} ids`, ids)
        indexes.forEach((i, n) => {
          const r = records[i]!
          out[i] = { topic: r.topic, partition: r.partition, offset: ids[n]!, timestamp: r.timestamp }
        })
      }),
    )
    return out
  }

  /** Waits for the sends in flight, each bounded by sendTimeoutMs. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.inFlight)
  }
}
