import type { Compression, OutgoingRecord } from '@keyed/sdk/backend'
import { RecordTooLargeError } from '@keyed/sdk/backend'
import { BATCH_OVERHEAD, recordSize } from './batch-size.js'

/** A topic's max.message.bytes (undefined when unknown); refresh asks the broker again instead of the cache. */
export type MessageLimit = (topic: string, refresh: boolean) => Promise<number | undefined>

/** A call that would go over a limit: which record crosses it, and by how much. */
interface Oversize {
  readonly index: number
  readonly partition: number
  readonly bytes: number
  readonly alone: boolean
}

/**
 * Kafka appends each partition's batch on its own: one partition refused as too large while the others are written
 * would leave part of the call in the log. Uncompressed, a batch's size is known here, so a call that a topic's
 * max.message.bytes would refuse is refused whole before anything is sent. Compressed batches are checked by the
 * broker only (their size is known after compression).
 */
export async function refuseOversize(
  records: readonly OutgoingRecord[],
  compression: Compression | undefined,
  messageLimit: MessageLimit,
): Promise<void> {
  if ((compression ?? 'none') !== 'none') return
  for (const topic of new Set(records.map((r) => r.topic))) {
    let limit = await messageLimit(topic, false)
    let over = limit === undefined ? undefined : oversize(records, topic, limit)
    // The cached limit may be old (raised since): ask again before refusing.
    if (over)
      over = (limit = await messageLimit(topic, true)) === undefined ? undefined : oversize(records, topic, limit)
    if (!over || limit === undefined) continue
    throw new RecordTooLargeError(
      topic,
      over.alone
        ? `it takes ${over.bytes} bytes as a Kafka record batch, over the topic's max.message.bytes of ${limit}. Nothing of this call was sent. ` +
            "Send a smaller record, or raise the topic's max.message.bytes."
        : `with the records before it for partition ${over.partition}, one record batch would take ${over.bytes} bytes, over the topic's ` +
            `max.message.bytes of ${limit}. Nothing of this call was sent. Send these records in smaller calls, or raise the topic's max.message.bytes.`,
      over.index,
    )
  }
}

/** The first record of `topic` whose partition's batch, in this call, would exceed `limit` bytes uncompressed. */
function oversize(records: readonly OutgoingRecord[], topic: string, limit: number): Oversize | undefined {
  const batches = new Map<number, { bytes: number; count: number; firstTimestamp: number }>()
  for (let index = 0; index < records.length; index++) {
    const r = records[index]!
    if (r.topic !== topic) continue
    let batch = batches.get(r.partition)
    if (!batch) batches.set(r.partition, (batch = { bytes: BATCH_OVERHEAD, count: 0, firstTimestamp: r.timestamp }))
    const size = recordSize(r, batch.count, r.timestamp - batch.firstTimestamp)
    batch.bytes += size
    batch.count++
    if (batch.bytes > limit)
      return {
        index,
        partition: r.partition,
        bytes: BATCH_OVERHEAD + size > limit ? BATCH_OVERHEAD + size : batch.bytes,
        alone: BATCH_OVERHEAD + size > limit,
      }
  }
  return undefined
}
