import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, partitionFor, serdes, type Message } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'
import { runJava } from './support/java.js'

const producerSource = fileURLToPath(new URL('./interop/JavaProducer.java', import.meta.url))
const KEYS = [
  'order-1',
  'customer-42',
  'klíč-ü-日本',
  '🙂🚀 emoji',
  'ключ',
  'a',
  'ß',
  '',
  ...Array.from({ length: 40 }, (_, i) => `k-${i * 7919}`),
]

describe('kafka interop with the official Java client', () => {
  it("puts every key in the partition Java's default partitioner picks, and a typed keyed consumer reads what Java wrote", async () => {
    const partitions = 7
    const topic = defineTopic(unique('interop'), { partitions, value: serdes.json<{ from: string; seq: number }>() })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      // Java: no partition given, so its DefaultPartitioner (murmur2 of the UTF-8 key bytes) decides.
      const java = runJava(producerSource, [BROKER, topic.name], KEYS.join('\n') + '\n').map((line) => {
        const [partition, offset] = line.split(' ')
        return { partition: Number(partition), offset: offset! }
      })
      expect(java).toHaveLength(KEYS.length)
      const ours = await client.producer().send(
        topic,
        KEYS.map((key, seq) => ({ key, value: { from: 'keyed', seq } })),
      )
      expect(ours.map((m) => m.partition)).toEqual(java.map((m) => m.partition))
      expect(KEYS.map((k) => partitionFor(k, partitions))).toEqual(java.map((m) => m.partition))
      expect(new Set(java.map((m) => m.partition)).size).toBeGreaterThan(3)

      const read: Message<typeof topic>[] = []
      await client
        .consumer({ groupId: unique('interop') })
        .subscribe(topic, (m) => void read.push(m), { fromBeginning: true })
      await waitFor("both producers' records", 30_000, () => read.length >= KEYS.length * 2)
      const fromJava = read.filter((m) => m.value.from === 'java').sort((a, b) => a.value.seq - b.value.seq)
      expect(fromJava.map((m) => m.key)).toEqual(KEYS)
      expect(fromJava.map((m) => ({ partition: m.partition, offset: m.offset }))).toEqual(java)
    } finally {
      await client.close()
    }
  })
})
