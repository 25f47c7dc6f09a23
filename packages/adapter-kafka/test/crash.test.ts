import kafkajs from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, serdes, type KeyedError } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

const { CompressionCodecs, CompressionTypes } = kafkajs

describe('kafka member crashes after joining', () => {
  let registered: (() => { compress: unknown }) | undefined
  afterEach(() => {
    if (registered) CompressionCodecs[CompressionTypes.ZSTD] = registered
  })

  it('stops the consumer with a typed error through onError and stopped(), even with kafkajs logging off', async () => {
    const topic = defineTopic(unique('crash'), { partitions: 1, value: serdes.json<{ n: number }>() })
    // Few retries, so kafkajs gives up on the batch it cannot decode quickly.
    const client = createClient({
      backend: testKafka({ logLevel: 'nothing', retry: { retries: 1, initialRetryTimeMs: 100 } }),
    })
    const handled: number[] = []
    const errors: KeyedError[] = []
    try {
      const producer = client.producer({ compression: 'zstd' })
      await producer.send(topic, { key: 'a', value: { n: 1 } })
      const consumer = client.consumer({ groupId: unique('crash'), onError: (e) => void errors.push(e) })
      await consumer.subscribe(topic, (m) => void handled.push(m.value.n), { fromBeginning: true })
      await waitFor('the first record', 20_000, () => handled.length === 1)
      // From now on the member cannot decode a zstd batch: kafkajs's fetch fails until it gives up and crashes.
      registered = CompressionCodecs[CompressionTypes.ZSTD] as () => { compress: unknown }
      const working = registered()
      CompressionCodecs[CompressionTypes.ZSTD] = () => ({
        compress: working.compress,
        decompress: () => Promise.reject(new Error('injected decode failure')),
      })
      const stopped = consumer.stopped().then(
        () => 'resolved',
        (e: unknown) => e,
      )
      await producer.send(topic, { key: 'a', value: { n: 2 } })
      await waitFor('onError', 30_000, () => errors.length > 0)
      expect(errors).toHaveLength(1)
      expect(isKeyedError(errors[0])).toBe(true)
      expect(errors[0]!.message).toContain('injected decode failure')
      expect(errors[0]!.retriable).toBe(false)
      expect(await stopped).toBe(errors[0])
      expect(handled).toEqual([1])
    } finally {
      await client.close()
    }
  })
})
