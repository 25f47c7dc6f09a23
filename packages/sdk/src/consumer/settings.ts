import type { GroupMemberOptions } from '../backend/contract.js'
import { ConfigError } from '../errors.js'
import { integerOption } from '../options.js'
import type { RetryPolicy } from './retry.js'
import type { ConsumerOptions } from './types.js'

/** A consumer's options, checked, with their defaults filled in. */
export interface ConsumerSettings {
  readonly retry: RetryPolicy
  readonly autoCommit: boolean
  readonly membership: Pick<GroupMemberOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBatchSize'>
  readonly closeTimeoutMs: number
  /** Above 1 with ordering 'key': the scheduler; otherwise one record at a time per partition. */
  readonly concurrency: number
  readonly ordering: 'key' | 'partition'
  readonly maxBufferedRecords: number
}

const int = (name: string, value: unknown, fallback: number, min = 1) => integerOption(`Consumer ${name}`, value, fallback, min)

export function resolveConsumerSettings(options: ConsumerOptions): ConsumerSettings {
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    throw new ConfigError('A consumer needs a groupId: members with the same groupId share the partitions of the topics they read.')
  }
  const membership = {
    sessionTimeoutMs: int('sessionTimeoutMs', options.sessionTimeoutMs, 10000),
    heartbeatIntervalMs: int('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
    maxBatchSize: int('maxBatchSize', options.maxBatchSize, 500),
  }
  const concurrency = int('concurrency', options.concurrency, 1)
  const ordering = options.ordering ?? (concurrency > 1 ? 'key' : 'partition')
  if (ordering !== 'key' && ordering !== 'partition') throw new ConfigError(`Consumer ordering must be 'key' or 'partition', got '${String(ordering)}'.`)
  if (options.autoCommit === false && ordering === 'key' && concurrency > 1) {
    // A position is one offset per partition: committing after one message would pass other keys' records still running.
    throw new ConfigError(
      `Consumer autoCommit: false cannot be combined with concurrency ${concurrency} (ordering 'key'): commit(message) would pass ` +
        `records of other keys still in flight. Keep autoCommit on (it commits each batch's finished prefix), or use ordering: 'partition'.`,
    )
  }
  return {
    retry: {
      attempts: int('retry.attempts', options.retry?.attempts, 3),
      initialBackoffMs: int('retry.initialBackoffMs', options.retry?.initialBackoffMs, 100, 0),
      maxBackoffMs: int('retry.maxBackoffMs', options.retry?.maxBackoffMs, 5000, 0),
    },
    autoCommit: options.autoCommit ?? true,
    membership,
    closeTimeoutMs: int('closeTimeoutMs', options.closeTimeoutMs, membership.sessionTimeoutMs),
    concurrency,
    ordering,
    maxBufferedRecords: int('maxBufferedRecords', options.maxBufferedRecords, Math.max(membership.maxBatchSize, 8 * concurrency)),
  }
}
