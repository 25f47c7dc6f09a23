import type { GroupMemberOptions } from '../backend/contract.js'
import { ConfigError } from '../errors.js'
import { integerOption } from '../options.js'
import type { RetryPolicy } from './retry.js'
import type { ConsumerOptions } from './types.js'

/** A consumer's options, checked, with their defaults filled in. */
export interface ConsumerSettings extends RunSettings {
  readonly retry: RetryPolicy
  readonly autoCommit: boolean
  readonly membership: Pick<GroupMemberOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBatchSize'>
  readonly closeTimeoutMs: number
}

const int = (name: string, value: unknown, fallback: number, min = 1) =>
  integerOption(`Consumer ${name}`, value, fallback, min)

/** How one topic's records are run: the consumer's settings, or a subscribe() override of them. */
export interface RunSettings {
  readonly concurrency: number
  readonly ordering: 'key' | 'partition'
  readonly maxBufferedRecords: number
}

/** Checks concurrency and ordering as given to client.consumer() or subscribe(), with the defaults filled in. */
export function resolveRunSettings(
  where: string,
  given: { concurrency?: number; ordering?: 'key' | 'partition'; maxBufferedRecords?: number },
  autoCommit: boolean,
  maxBatchSize: number,
): RunSettings {
  const concurrency = integerOption(`${where} concurrency`, given.concurrency, 1, 1)
  const ordering = given.ordering ?? (concurrency > 1 ? 'key' : 'partition')
  if (ordering !== 'key' && ordering !== 'partition')
    throw new ConfigError(`${where} ordering must be 'key' or 'partition', got '${String(ordering)}'.`)
  if (!autoCommit && ordering === 'key' && concurrency > 1) {
    // A position is one offset per partition: committing after one message would pass other keys' records still running.
    throw new ConfigError(
      `Consumer autoCommit: false cannot be combined with concurrency ${concurrency} (ordering 'key'): commit(message) would pass ` +
        `records of other keys still in flight. Keep autoCommit on (it commits each batch's finished prefix), or use ordering: 'partition'.`,
    )
  }
  const maxBufferedRecords = integerOption(
    `${where} maxBufferedRecords`,
    given.maxBufferedRecords,
    Math.max(maxBatchSize, 8 * concurrency),
    1,
  )
  return { concurrency, ordering, maxBufferedRecords }
}

export function resolveConsumerSettings(options: ConsumerOptions): ConsumerSettings {
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    throw new ConfigError(
      'A consumer needs a groupId: members with the same groupId share the partitions of the topics they read.',
    )
  }
  const membership = {
    sessionTimeoutMs: int('sessionTimeoutMs', options.sessionTimeoutMs, 10000),
    heartbeatIntervalMs: int('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
    maxBatchSize: int('maxBatchSize', options.maxBatchSize, 500),
  }
  const autoCommit = options.autoCommit ?? true
  const run = resolveRunSettings('Consumer', options, autoCommit, membership.maxBatchSize)
  return {
    retry: {
      attempts: int('retry.attempts', options.retry?.attempts, 3),
      initialBackoffMs: int('retry.initialBackoffMs', options.retry?.initialBackoffMs, 100, 0),
      maxBackoffMs: int('retry.maxBackoffMs', options.retry?.maxBackoffMs, 5000, 0),
    },
    autoCommit,
    membership,
    closeTimeoutMs: int('closeTimeoutMs', options.closeTimeoutMs, membership.sessionTimeoutMs),
    ...run,
  }
}
