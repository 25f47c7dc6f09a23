import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, serdes, type Message } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'
import { runJava } from './support/java.js'

const javaProducer = fileURLToPath(new URL('./interop/JavaBatchProducer.java', import.meta.url))

describe('kafka record headers', () => {
  it('reads a header whose value is null (Java new RecordHeader(name, null)) as an empty string', async () => {
    const topic = defineTopic(unique('null-header'), {
      partitions: 2,
      value: serdes.json<{ codec: string; seq: number }>(),
    })
    const client = createClient({ backend: testKafka() })
    const read: Message<typeof topic>[] = []
    const errors: unknown[] = []
    try {
      await client.admin().ensureTopics([topic])
      expect(runJava(javaProducer, [BROKER, topic.name, 'none', '20', 'null-header'], '')).toEqual(['sent none 20'])
      await client
        .consumer({ groupId: unique('null-header'), onError: (e) => void errors.push(e) })
        .subscribe(topic, (m) => void read.push(m), { fromBeginning: true })
      await waitFor('20 records', 30_000, () => read.length >= 20 || errors.length > 0)
    } finally {
      await client.close()
    }
    expect(errors).toEqual([])
    expect(read.map((m) => m.value.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    for (const m of read) expect(m.headers).toEqual({ seq: String(m.value.seq), empty: '' })
  }, 120_000)
})
