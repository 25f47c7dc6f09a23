import { readFile } from 'node:fs/promises'
import { partitionFor, type CleanupPolicy } from '@keyed/sdk'
import type { Backend, OutgoingRecord } from '@keyed/sdk/backend'
import { UsageError } from './errors.js'

/**
 * The test-only --seed file: a memory backend lives in its process, so a test that runs the binary on memory describes
 * the state to start from. Records are placed as keyed places them (murmur2), unless they name a partition.
 */
interface Seed {
  topics?: Array<{
    name: string
    partitions: number
    cleanupPolicy?: CleanupPolicy
    records?: Array<{ key: string | null; value: string | null; partition?: number; headers?: Record<string, string> }>
  }>
  /** Per partition, how many records the group has handled (its commit). */
  groups?: Array<{ groupId: string; topic: string; handled: Record<string, number> }>
}

const bytes = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'))

export async function seedMemory(backend: Backend, file: string): Promise<void> {
  let seed: Seed
  try {
    seed = JSON.parse(await readFile(file, 'utf8')) as Seed
  } catch (error) {
    throw new UsageError(`--seed ${file}: not a readable JSON file (${(error as Error).message}).`)
  }
  const producer = backend.producer({
    idempotent: true,
    acks: 'all',
    maxInFlight: 1,
    retries: 0,
    clientId: 'keyed-seed',
  })
  for (const t of seed.topics ?? []) {
    await backend.createTopic({
      name: t.name,
      partitions: t.partitions,
      cleanupPolicy: t.cleanupPolicy ?? 'delete',
      retentionMs: undefined,
      retentionBytes: undefined,
      deleteRetentionMs: undefined,
      minCompactionLagMs: undefined,
      config: {},
    })
    const records: OutgoingRecord[] = (t.records ?? []).map((r, i) => ({
      topic: t.name,
      partition: r.partition ?? (r.key === null ? i % t.partitions : partitionFor(r.key, t.partitions)),
      key: bytes(r.key),
      value: bytes(r.value),
      headers: r.headers ?? {},
      timestamp: Date.now(),
    }))
    if (records.length > 0) await producer.send(records)
  }
  await producer.close()
  for (const g of seed.groups ?? []) {
    const member = backend.consumer({
      groupId: g.groupId,
      clientId: 'keyed-seed',
      subscriptions: [{ topic: g.topic, fromBeginning: true }],
      onBatch: async () => {},
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      maxBatchSize: 1,
    })
    await member.start()
    const offsets = Object.entries(g.handled)
      .filter(([, n]) => n > 0)
      .map(([p, n]) => ({ topic: g.topic, partition: Number(p), offset: String(n - 1) }))
    await member.commit(offsets)
    await member.close()
  }
}
