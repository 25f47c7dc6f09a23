import type { Backend, OutgoingRecord, TopicSpec } from '../src/backend/index.js'

/** A backend that only records what it was asked to send, for SDK-side tests that need no consumer. */
export function recordingBackend(): Backend & { sent: OutgoingRecord[][]; specs: TopicSpec[] } {
  const sent: OutgoingRecord[][] = []
  const specs: TopicSpec[] = []
  return {
    name: 'recording',
    capabilities: { compaction: false, timeRetention: false },
    sent,
    specs,
    async describeTopic(name) {
      const spec = specs.find((s) => s.name === name)
      return spec && { name, partitions: spec.partitions, cleanupPolicy: spec.cleanupPolicy }
    },
    async createTopic(spec) {
      specs.push(spec)
    },
    producer: () => ({
      async send(records) {
        sent.push([...records])
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 3))
        return records.map((r, i) => ({
          topic: r.topic,
          partition: r.partition,
          offset: String(i),
          timestamp: r.timestamp,
        }))
      },
      async close() {},
    }),
    consumer: () => {
      throw new Error('not used')
    },
    async close() {},
  }
}
