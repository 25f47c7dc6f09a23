import type {
  Backend,
  CommitOffset,
  IncomingRecord,
  OutgoingRecord,
  PartitionBatch,
  TopicSpec,
} from '../src/backend/index.js'
import type { CleanupPolicy } from '../src/index.js'

/** A record as a backend would deliver it, with defaults for what a test does not care about. */
export function raw(partial: Partial<IncomingRecord> & { offset: string }): IncomingRecord {
  return {
    topic: 't',
    partition: 0,
    key: Buffer.from('k'),
    value: Buffer.from('{}'),
    headers: {},
    timestamp: 1,
    ...partial,
  }
}

/**
 * A backend whose one member is handed the given records, one batch per partition in order, as any backend could
 * deliver them; it records commits and sends (dead letters) for SDK-side consumer tests.
 */
export function scriptedBackend(
  records: readonly IncomingRecord[],
): Backend & { commits: CommitOffset[]; sent: OutgoingRecord[]; created: TopicSpec[]; closed: boolean } {
  const commits: CommitOffset[] = []
  const sent: OutgoingRecord[] = []
  const created: TopicSpec[] = []
  const topics = new Map<string, { partitions: number; cleanupPolicy: CleanupPolicy }>()
  const self = {
    name: 'scripted',
    capabilities: { compaction: false, timeRetention: false },
    commits,
    sent,
    created,
    closed: false,
    async describeTopic(name: string) {
      const topic = topics.get(name)
      return topic && { name, ...topic }
    },
    async createTopic(spec: TopicSpec) {
      created.push(spec)
      topics.set(spec.name, { partitions: spec.partitions, cleanupPolicy: spec.cleanupPolicy })
    },
    producer: () => ({
      async send(out: readonly OutgoingRecord[]) {
        sent.push(...out)
        return out.map((r, i) => ({
          topic: r.topic,
          partition: r.partition,
          offset: String(i),
          timestamp: r.timestamp,
        }))
      },
      async close() {},
    }),
    consumer: (options: Parameters<Backend['consumer']>[0]) => {
      let active = true
      let done: Promise<void> = Promise.resolve()
      return {
        async start() {
          const byPartition = new Map<string, IncomingRecord[]>()
          for (const r of records) {
            const id = `${r.topic}:${r.partition}`
            byPartition.set(id, [...(byPartition.get(id) ?? []), r])
          }
          done = Promise.all(
            [...byPartition.values()].map(async (batch) => {
              const first = batch[0]!
              const b: PartitionBatch = {
                topic: first.topic,
                partition: first.partition,
                records: batch,
                isActive: () => active,
                heartbeat: async () => {},
              }
              await options.onBatch(b)
            }),
          ).then(() => undefined)
        },
        async commit(offsets: readonly CommitOffset[]) {
          commits.push(...offsets)
        },
        /** Lets every scripted batch finish first, so a test sees all of them handled. */
        async close() {
          await done
          active = false
        },
      }
    },
    async close() {
      self.closed = true
    },
  }
  return self
}
