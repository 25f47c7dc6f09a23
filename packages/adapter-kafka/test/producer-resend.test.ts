import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs'
import { BackendUnavailableError, type OutgoingRecord } from '@keyed/sdk/backend'
import { describe, expect, it } from 'vitest'
import { KafkaProducer } from '../src/producer.js'

const noLimit = () => Promise.resolve(undefined)
const settings = { idempotent: true, acks: 'all', maxInFlight: 1, retries: 5, clientId: undefined } as const
const record = (partition: number, n: number): OutgoingRecord => ({
  topic: 't',
  partition,
  key: Buffer.from(`k${n}`),
  value: Buffer.from(String(n)),
  headers: {},
  timestamp: 0,
})

/** A kafkajs producer that leaves partitions out of its answers, as kafkajs does after a leader moved (issue 1303). */
function stub(
  dropped: (call: number, partition: number) => boolean,
  refused?: (call: number, partition: number) => Error | undefined,
) {
  const calls: number[][] = []
  const producer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async ({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> => {
      const partitions = [...new Set(topicMessages!.flatMap((t) => t.messages.map((m) => m.partition!)))]
      calls.push(partitions)
      const error = partitions.map((p) => refused?.(calls.length, p)).find(Boolean)
      if (error) throw error
      return partitions
        .filter((p) => !dropped(calls.length, p))
        .map((partition) => ({ topicName: 't', partition, errorCode: 0, baseOffset: String(100 * (partition + 1)) }))
    },
  } as unknown as Producer
  return { producer, calls }
}

describe('kafka producer: partitions left out of an answer', () => {
  it('sends exactly the missing partitions again and reports every offset', async () => {
    const { producer, calls } = stub((call, p) => call === 1 && p === 2)
    const meta = await new KafkaProducer(
      producer,
      { ...settings, idempotent: false },
      { brokers: ['x'], secrets: [] },
      noLimit,
    ).send([record(0, 0), record(2, 1), record(0, 2), record(2, 3)])
    expect(calls).toEqual([[0, 2], [2]])
    expect(meta.map((m) => m.offset)).toEqual(['100', '300', '101', '301'])
  })

  it('fails the send instead of reporting success when a partition is never acknowledged', async () => {
    const { producer } = stub((_, p) => p === 1)
    const error = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit)
      .send([record(0, 0), record(1, 1)])
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendUnavailableError)
    expect((error as Error).message).toMatch(/t\[1\].*send them again/)
  })

  it('an idempotent producer sends each partition of a call in a sendBatch of its own, all before the call ends', async () => {
    const { producer, calls } = stub(() => false)
    const meta = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit).send([
      record(0, 0),
      record(2, 1),
      record(0, 2),
    ])
    expect(calls).toEqual([[0], [2]])
    expect(meta.map((m) => m.offset)).toEqual(['100', '300', '101'])
  })

  it("sends again a partition whose request kafkajs never sent (KafkaJSLockTimeout behind another partition's request)", async () => {
    const lockTimeout = Object.assign(new Error('Timeout while acquiring lock (2 waiting locks)'), {
      name: 'KafkaJSLockTimeout',
    })
    const { producer, calls } = stub(
      () => false,
      (call, p) => (call === 2 && p === 1 ? lockTimeout : undefined),
    )
    const meta = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit).send([
      record(0, 0),
      record(1, 1),
    ])
    expect(calls).toEqual([[0], [1], [1]])
    expect(meta.map((m) => m.offset)).toEqual(['100', '200'])
  })

  it('fails the whole call, saying other partitions may be in the log, when one partition fails otherwise', async () => {
    const refusal = Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' })
    const { producer, calls } = stub(
      () => false,
      (_, p) => (p === 1 ? refusal : undefined),
    )
    const error = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit)
      .send([record(0, 0), record(1, 1)])
      .catch((e: unknown) => e)
    expect(calls).toEqual([[0], [1]])
    expect(error).toBeInstanceOf(BackendUnavailableError)
    expect((error as Error).message).toMatch(/send 2 record\(s\) to 't' over 2 partitions .*some may be in the log/)
  })
})
