import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, createClient, defineTopic, serdes, type Compression, type Message } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'
import { runJava } from './support/java.js'

const javaProducer = fileURLToPath(new URL('./interop/JavaBatchProducer.java', import.meta.url))
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const
type Value = { codec: string; seq: number }

async function readAll<T extends ReturnType<typeof defineTopic>>(topic: T, expected: number): Promise<Message<T>[]> {
  const client = createClient({ backend: testKafka() })
  const read: Message<T>[] = []
  const errors: unknown[] = []
  try {
    const consumer = client.consumer({ groupId: unique('compressed'), onError: (e) => void errors.push(e) })
    await consumer.subscribe(topic, (m) => void read.push(m), { fromBeginning: true })
    await waitFor(`${expected} records`, 30_000, () => read.length >= expected || errors.length > 0)
    expect(errors).toEqual([])
  } finally {
    await client.close()
  }
  return read
}

describe('kafka compressed batches', () => {
  it('reads batches the Java producer compressed with gzip, snappy, lz4 and zstd', async () => {
    const topic = defineTopic(unique('java-codecs'), { partitions: 3, value: serdes.json<Value>() })
    const count = 200
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
    } finally {
      await client.close()
    }
    expect(runJava(javaProducer, [BROKER, topic.name, CODECS.join(','), String(count)], '')).toEqual(
      CODECS.map((codec) => `sent ${codec} ${count}`),
    )
    const read = await readAll(topic, CODECS.length * count)
    for (const codec of CODECS) {
      const seqs = read.filter((m) => m.value.codec === codec).map((m) => m.value.seq)
      expect(
        seqs.sort((a, b) => a - b),
        codec,
      ).toEqual(Array.from({ length: count }, (_, i) => i))
    }
    expect(
      read.every((m) => m.key === `${m.value.codec}-${m.value.seq}` && m.headers.seq === String(m.value.seq)),
    ).toBe(true)
  }, 180_000)

  it("reads a topic declared with compression.type 'zstd', whose batches the broker recompresses", async () => {
    const topic = defineTopic(unique('zstd-topic'), {
      partitions: 2,
      value: serdes.json<Value>(),
      config: { 'compression.type': 'zstd' },
    })
    const client = createClient({ backend: testKafka() })
    try {
      await client.producer().send(
        topic,
        Array.from({ length: 50 }, (_, seq) => ({ key: `k${seq}`, value: { codec: 'none', seq } })),
      )
    } finally {
      await client.close()
    }
    expect((await readAll(topic, 50)).map((m) => m.value.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    )
  })

  it('compresses with the producer option: a batch larger than max.message.bytes uncompressed is accepted with every codec', async () => {
    // The broker checks the compressed batch against max.message.bytes and decompresses it to validate the records,
    // so an accepted batch is both smaller than it was and readable by Kafka's own (Java) codecs.
    const topic = defineTopic(unique('keyed-codecs'), {
      partitions: 1,
      value: serdes.json<Value & { pad: string }>(),
      config: { 'max.message.bytes': '20000' },
    })
    const pad = 'keyed '.repeat(1000)
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      for (const codec of CODECS) {
        const records = Array.from({ length: 20 }, (_, seq) => ({ key: `${codec}-${seq}`, value: { codec, seq, pad } }))
        await client.producer({ compression: codec }).send(topic, records)
      }
    } finally {
      await client.close()
    }
    const read = await readAll(topic, CODECS.length * 20)
    for (const codec of CODECS)
      expect(
        read.filter((m) => m.value.codec === codec && m.value.pad === pad).map((m) => m.value.seq),
        codec,
      ).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('refuses an unknown compression before connecting', () => {
    const client = createClient({ backend: testKafka() })
    expect(() => client.producer({ compression: 'brotli' as Compression })).toThrow(ConfigError)
    expect(() => client.producer({ compression: 'brotli' as Compression })).toThrow(/'gzip', 'snappy', 'lz4', 'zstd'/)
  })
})
