import { readFile } from 'node:fs/promises'
import type { Backend } from '@keyed/sdk/backend'
import { toBuffer } from '@keyed/sdk/backend'
import { UsageError } from '../errors.js'
import { readAll } from '../read-topic.js'
import { KeyCounts, type KeySet } from './counts.js'
import { LineKeys } from './lines.js'

export type KeyFormat = 'utf8' | 'hex' | 'base64'

/** Keys from a file ('-' is stdin), one per line. An empty line is the empty key, which Kafka hashes like any other. */
export async function keysFromLines(file: string): Promise<KeySet> {
  let text: Buffer
  if (file === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    text = Buffer.concat(chunks)
  } else {
    try {
      text = await readFile(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new UsageError(
        `--keys ${file}: cannot read the file (${code === 'ENOENT' ? 'it does not exist' : (code ?? String(error))}).`,
      )
    }
  }
  return new LineKeys(text)
}

export interface TopicKeysOptions {
  readonly backend: Backend
  readonly topic: string
  readonly partitions: number
  readonly sample: number | undefined
  readonly format: KeyFormat
  readonly onProgress?: (records: number) => void
}

export interface TopicKeys {
  readonly counts: KeyCounts
  /** Keyed records found in another partition than murmur2 of their key gives (written by another partitioner). */
  readonly misplaced: number
}

/** Every key of the topic up to the partitions' ends as of now (or a sample of about `sample` records). */
export async function keysFromTopic(options: TopicKeysOptions): Promise<TopicKeys> {
  const { format, partitions } = options
  const counts = new KeyCounts()
  let misplaced = 0
  await readAll({
    backend: options.backend,
    topic: options.topic,
    sample: options.sample,
    onProgress: options.onProgress,
    onRecords(records) {
      for (const r of records) {
        if (r.key === null) {
          counts.addKeyless(r.partition)
          continue
        }
        if (counts.add(toBuffer(r.key).toString(format), r.key) % partitions !== r.partition) misplaced++
      }
    },
  })
  return { counts, misplaced }
}

export function checkFormat(format: string): KeyFormat {
  if (format === 'utf8' || format === 'hex' || format === 'base64') return format
  throw new UsageError(`--key-format must be utf8, hex or base64, got '${format}'.`)
}
