import { partitionSpread, RecordTooLargeError, type KeyedError, type OutgoingRecord } from '@keyed/sdk/backend'
import { chain, toKeyedError, type ErrorChain, type ErrorContext } from './errors.js'

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/**
 * The error a failed produce request ends in, on either transport. Kafka appends each partition's batch on its own, so
 * a refusal of one batch as too large, or any failure of a call spanning several partitions, may leave others written:
 * the error says so.
 */
export function sendFailure(
  error: unknown,
  records: readonly OutgoingRecord[],
  context: ErrorContext,
  explain: ErrorChain = chain,
  /** The call's record count, when `records` is the part of it sent again. */
  total = records.length,
): KeyedError {
  const topics = [...new Set(records.map((r) => r.topic))]
  if (TOO_LARGE_TYPES.has(explain(error).at(-1)?.type ?? '')) {
    return new RecordTooLargeError(
      topics.join("', '"),
      `the broker refused a record batch of this call as larger than the topic's max.message.bytes (or the broker's message.max.bytes). ` +
        'Batches for other partitions of the call may have been written. Send smaller records or fewer per call, or raise max.message.bytes.',
      undefined,
      { nothingSent: false },
    )
  }
  return toKeyedError(
    error,
    `send ${total} record(s) to '${topics.join("', '")}'${partitionSpread(records)}`,
    context,
    explain,
  )
}
