import { createRequire } from 'node:module'
import type { Producer } from 'kafkajs'
import type { OutgoingRecord } from '@keyed/sdk/backend'
import { describe, expect, it } from 'vitest'
import { KafkaProducer } from '../src/producer.js'
import { SoleBroker } from '../src/sole-broker.js'

// kafkajs 2.2.4's own produce path (sendMessages, its retrier, its idempotent sequence bookkeeping), on a fake cluster.
const require = createRequire(import.meta.url)
type Fn = (...args: any[]) => any // eslint-disable-line @typescript-eslint/no-explicit-any
const createMessageProducer = require('kafkajs/src/producer/messageProducer') as Fn
const createEosManager = require('kafkajs/src/producer/eosManager') as Fn
const createRetry = require('kafkajs/src/retry') as Fn
const { KafkaJSConnectionClosedError } = require('kafkajs/src/errors') as {
  KafkaJSConnectionClosedError: new (message: string, where: { host: string; port: number }) => Error
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const logger = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => logger }

type Batch = { producerId: number; firstSequence: number; count: number; baseOffset: number }
type PartitionLog = { records: string[]; batches: Batch[] }

/**
 * A cluster whose partition logs are shared by the brokers (as replication with acks=all makes them), with a broker's
 * idempotence checks: a batch resent with a sequence it already appended gets that batch's offset back and is not
 * appended again; a batch out of sequence is refused.
 */
function fakeCluster(leaders: Record<number, number>, behave: (nodeId: number, call: number) => Promise<void>) {
  const logs = new Map<number, PartitionLog>()
  const calls = new Map<number, number>()
  const log = (p: number) => logs.get(p) ?? (logs.set(p, { records: [], batches: [] }), logs.get(p)!)
  const append = (producerId: number, p: number, firstSequence: number, values: string[]) => {
    const l = log(p)
    const dup = l.batches.find((b) => b.producerId === producerId && b.firstSequence === firstSequence)
    if (dup) return { errorCode: 0, baseOffset: String(dup.baseOffset) }
    const last = l.batches.filter((b) => b.producerId === producerId).at(-1)
    const expected = last ? last.firstSequence + last.count : 0
    if (firstSequence !== expected) return { errorCode: 45, baseOffset: '-1' } // OUT_OF_ORDER_SEQUENCE_NUMBER
    l.batches.push({ producerId, firstSequence, count: values.length, baseOffset: l.records.length })
    l.records.push(...values)
    return { errorCode: 0, baseOffset: String(l.records.length - values.length) }
  }
  type TopicData = {
    topic: string
    partitions: { partition: number; firstSequence: number; messages: { value: Buffer }[] }[]
  }[]
  const broker = (nodeId: number) => ({
    nodeId,
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    produce: async ({ topicData, producerId }: { topicData: TopicData; producerId: number }) => {
      const call = (calls.get(nodeId) ?? 0) + 1
      calls.set(nodeId, call)
      // `behave` fails the request (the broker never got it) or delays it; then the broker appends and answers.
      await behave(nodeId, call)
      const topics = topicData.map(({ topic, partitions }) => ({
        topicName: topic,
        partitions: partitions.map(({ partition, firstSequence, messages }) => ({
          partition,
          ...append(
            producerId,
            partition,
            firstSequence,
            messages.map((m) => m.value.toString()),
          ),
        })),
      }))
      const failed = topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== 0)
      if (failed)
        throw Object.assign(new Error('out of order sequence'), {
          type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
          retriable: false,
        })
      return { topics }
    },
  })
  const brokers = new Map(Object.values(leaders).map((n) => [n, broker(n)]))
  const cluster = {
    retry: { retries: 0 },
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => {},
    addMultipleTargetTopics: async () => {},
    isConnected: () => true,
    connect: async () => {},
    removeBroker: () => {},
    findControllerBroker: async () => brokers.values().next().value,
    findBroker: async ({ nodeId }: { nodeId: number }) => brokers.get(Number(nodeId)),
    findTopicPartitionMetadata: () =>
      Object.entries(leaders).map(([p, leader]) => ({ partitionId: Number(p), leader })),
    findLeaderForPartitions: (_: string, partitions: string[]) =>
      partitions.reduce<Record<number, number[]>>((acc, p) => {
        const leader = leaders[Number(p)]!
        return { ...acc, [leader]: [...(acc[leader] ?? []), Number(p)] }
      }, {}),
  }
  const eosManager = createEosManager({ logger, cluster })
  const messages = createMessageProducer({
    logger,
    cluster,
    eosManager,
    idempotent: true,
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    retrier: createRetry({ retries: 12, initialRetryTime: 20, maxRetryTime: 100 }),
    getConnectionStatus: () => 'connected',
  })
  const producer = {
    connect: () => eosManager.initProducerId(),
    disconnect: async () => {},
    sendBatch: messages.sendBatch,
  } as unknown as Producer
  return { producer, logs, calls }
}

const settings = { idempotent: true, acks: 'all', maxInFlight: 1, retries: 12, clientId: undefined } as const
const noLimit = () => Promise.resolve(undefined)
const record = (partition: number, value: string): OutgoingRecord => ({
  topic: 't',
  partition,
  key: Buffer.from(value),
  value: Buffer.from(value),
  headers: {},
  timestamp: 0,
})

describe('kafka producer: kafkajs retries a call while part of it is still in flight', () => {
  it('a strict producer writes each record once when one leader fails fast and another answers slowly', async () => {
    // Partition 0's leader (node 1) was killed: every request to it fails at once. Partition 1's leader (node 2)
    // appends at once but answers only after a while (acks=all waits for the dead follower to leave the ISR).
    const { producer, logs } = fakeCluster({ 0: 1, 1: 2 }, async (nodeId, call) => {
      if (nodeId === 1 && call <= 3)
        throw new KafkaJSConnectionClosedError('Closed connection', { host: 'n1', port: 1 })
      if (nodeId === 2 && call === 1) await sleep(150)
    })
    const meta = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit).send([
      record(0, 'a'),
      record(1, 'b'),
      record(1, 'c'),
    ])
    expect(logs.get(0)?.records).toEqual(['a'])
    expect(logs.get(1)?.records).toEqual(['b', 'c'])
    expect(meta.map((m) => m.offset)).toEqual(['0', '0', '1'])
  })

  it('a strict producer writes each record once when a leader moves to a broker that answered while its old leader is in flight', async () => {
    // Partition 0's leader (node 1) appends but answers slowly, and meanwhile partition 0 moves to node 2, which has
    // answered for partition 1; node 3 fails at once. kafkajs's retry asks node 1 again, for nothing, and that empty
    // answer replaces partition 0's: partition 0 is left out of the call's answer (as in kafkajs issue 1303), though
    // it is in the log, and kafkajs has moved its sequence on.
    const leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 }
    const { producer, logs } = fakeCluster(leaders, async (nodeId, call) => {
      if (nodeId === 1 && call === 1) await sleep(150)
      if (nodeId === 3 && call === 1) {
        leaders[0] = 2
        throw new KafkaJSConnectionClosedError('Closed connection', { host: 'n3', port: 3 })
      }
    })
    const meta = await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit).send([
      record(0, 'a'),
      record(1, 'b'),
      record(2, 'c'),
    ])
    expect(logs.get(0)?.records).toEqual(['a'])
    expect(logs.get(1)?.records).toEqual(['b'])
    expect(logs.get(2)?.records).toEqual(['c'])
    expect(meta.map((m) => m.offset)).toEqual(['0', '0', '0'])
  })

  /** A SoleBroker that has looked at the cluster already. */
  async function looked(ids: number[]): Promise<SoleBroker> {
    const sole = new SoleBroker(async () => ids)
    sole.now()
    await sleep(0)
    return sole
  }

  it('with the backend asking the cluster: two brokers, so still one partition per sendBatch and each record once', async () => {
    const { producer, logs } = fakeCluster({ 0: 1, 1: 2 }, async (nodeId, call) => {
      if (nodeId === 1 && call <= 3)
        throw new KafkaJSConnectionClosedError('Closed connection', { host: 'n1', port: 1 })
      if (nodeId === 2 && call === 1) await sleep(150)
    })
    const sole = await looked([1, 2])
    await new KafkaProducer(producer, settings, { brokers: ['x'], secrets: [] }, noLimit, undefined, sole).send([
      record(0, 'a'),
      record(1, 'b'),
      record(1, 'c'),
    ])
    expect(logs.get(0)?.records).toEqual(['a'])
    expect(logs.get(1)?.records).toEqual(['b', 'c'])
  })

  it('on a cluster of one broker, a call is one request per attempt: its partitions go together, each record once', async () => {
    const { producer, logs, calls } = fakeCluster({ 0: 1, 1: 1, 2: 1 }, async (_, call) => {
      if (call === 1) throw new KafkaJSConnectionClosedError('Closed connection', { host: 'n1', port: 1 })
    })
    const sole = await looked([1])
    const meta = await new KafkaProducer(
      producer,
      settings,
      { brokers: ['x'], secrets: [] },
      noLimit,
      undefined,
      sole,
    ).send([record(0, 'a'), record(1, 'b'), record(2, 'c'), record(1, 'd')])
    expect(calls.get(1)).toBe(2) // the failed request and its retry, each with all three partitions
    expect([0, 1, 2].map((p) => logs.get(p)?.records)).toEqual([['a'], ['b', 'd'], ['c']])
    expect(meta.map((m) => m.offset)).toEqual(['0', '0', '0', '1'])
  })
})
