import type { Backend, OutgoingRecord, RecordMetadata, TopicSpec } from '../src/backend/index.js'

export interface GatedRequest {
  readonly records: readonly OutgoingRecord[]
  /** Answers with metadata: offsets count per partition, as a log would. */
  succeed(): void
  fail(error: unknown): void
}

/**
 * A backend whose producer requests wait until the test answers them (or answer by themselves with `auto`), and which
 * fails the requests whose 1-based numbers are in `failing`. It keeps every request, and the records it appended.
 */
export function gatedBackend(
  options: {
    auto?: boolean
    failing?: readonly number[]
    error?: () => unknown
    refuse?: (records: readonly OutgoingRecord[]) => unknown
  } = {},
): Backend & {
  requests: GatedRequest[]
  log: OutgoingRecord[]
  pending: GatedRequest[]
  maxConcurrent: number
  specs: TopicSpec[]
} {
  const specs: TopicSpec[] = []
  const requests: GatedRequest[] = []
  const pending: GatedRequest[] = []
  const log: OutgoingRecord[] = []
  const offsets = new Map<string, number>()
  let inFlight = 0
  const self = {
    name: 'gated',
    capabilities: { compaction: false, timeRetention: false },
    specs,
    requests,
    pending,
    log,
    maxConcurrent: 0,
    async describeTopic(name: string) {
      const spec = specs.find((s) => s.name === name)
      return spec && { name, partitions: spec.partitions, cleanupPolicy: spec.cleanupPolicy }
    },
    async createTopic(spec: TopicSpec) {
      specs.push(spec)
    },
    producer: () => ({
      send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
        inFlight++
        self.maxConcurrent = Math.max(self.maxConcurrent, inFlight)
        const n = requests.length + 1
        return new Promise<RecordMetadata[]>((resolve, reject) => {
          const done = () => {
            inFlight--
            pending.splice(pending.indexOf(request), 1)
          }
          const request: GatedRequest = {
            records: [...records],
            succeed() {
              done()
              resolve(
                records.map((r) => {
                  log.push(r)
                  const id = `${r.topic}:${r.partition}`
                  const offset = offsets.get(id) ?? 0
                  offsets.set(id, offset + 1)
                  return { topic: r.topic, partition: r.partition, offset: String(offset), timestamp: r.timestamp }
                }),
              )
            },
            fail(error) {
              done()
              reject(error as Error)
            },
          }
          requests.push(request)
          pending.push(request)
          const refusal = options.refuse?.(records)
          if (refusal !== undefined) setTimeout(() => request.fail(refusal), 1)
          else if (options.failing?.includes(n))
            setTimeout(() => request.fail(options.error?.() ?? new Error(`request ${n} failed`)), 1)
          else if (options.auto) setTimeout(() => request.succeed(), 1)
        })
      },
      async close() {},
    }),
    consumer: () => {
      throw new Error('not used')
    },
    async close() {},
  }
  return self
}
