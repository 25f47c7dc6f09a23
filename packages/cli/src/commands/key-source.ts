import type { Backend } from '@keyed/sdk/backend'
import { UsageError } from '../errors.js'
import type { KeySet } from '../keys/counts.js'
import { checkFormat, keysFromLines, keysFromTopic } from '../keys/sources.js'
import { progress } from '../progress.js'
import { describeTopic } from './topics.js'

export interface KeySourceOptions {
  keys?: string
  partitions?: number
  sample?: number
  keyFormat: string
}

export interface KeySource {
  readonly counts: KeySet
  readonly partitions: number
  readonly source: {
    readonly kind: 'file' | 'stdin' | 'topic'
    readonly name: string
    readonly sample: number | undefined
  }
  readonly misplaced: number
  /** The backend's name for a topic's keys; undefined for a file or stdin. */
  readonly backend?: string | undefined
}

/** The keys to look at: a topic's (read to its end, or a sample), or a file's / stdin's with --partitions. */
export async function keySource(
  topic: string | undefined,
  options: KeySourceOptions,
  backend: () => Promise<{ backend: Backend; display: string }>,
): Promise<KeySource> {
  if (options.keys !== undefined) {
    if (options.partitions === undefined)
      throw new UsageError('--keys needs --partitions N: the partition count to analyze the keys for.')
    const counts = await keysFromLines(options.keys)
    return {
      counts,
      partitions: options.partitions,
      source: { kind: options.keys === '-' ? 'stdin' : 'file', name: options.keys, sample: undefined },
      misplaced: 0,
    }
  }
  if (topic === undefined)
    throw new UsageError('Name a topic, or give keys with --keys FILE (or --keys - for stdin) and --partitions N.')
  const format = checkFormat(options.keyFormat)
  const opened = await backend()
  const description = await describeTopic(opened.backend, opened.display, topic)
  if (options.partitions !== undefined && options.partitions !== description.partitions) {
    throw new UsageError(
      `Topic '${topic}' has ${description.partitions} partitions on ${opened.display}; drop --partitions ${options.partitions} (it is for --keys input).`,
    )
  }
  const bar = progress('reading keys', undefined)
  try {
    const { counts, misplaced } = await keysFromTopic({
      backend: opened.backend,
      topic,
      partitions: description.partitions,
      sample: options.sample,
      format,
      onProgress: (n) => bar.update(n),
    })
    return {
      counts,
      partitions: description.partitions,
      source: { kind: 'topic', name: topic, sample: options.sample },
      misplaced,
      backend: opened.backend.name,
    }
  } finally {
    bar.stop()
  }
}
