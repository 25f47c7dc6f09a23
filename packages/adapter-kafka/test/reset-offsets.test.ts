import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { createClient, defineTopic, GroupInUseError } from '@keyed/sdk'
import { sleep, unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'
import { repoRoot } from './support/scripts.js'

/** Kafka's own kafka-consumer-groups (ConsumerGroupCommand), through scripts/kafka-tools.sh; its stdout. */
function consumerGroups(...args: string[]): string {
  const result = spawnSync(
    'bash',
    [
      `${repoRoot}scripts/kafka-tools.sh`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      BROKER,
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx256m' } },
  )
  if (result.status !== 0)
    throw new Error(`kafka-consumer-groups ${args.join(' ')} failed (${String(result.status)}): ${result.stderr}`)
  return result.stdout
}

/** CURRENT-OFFSET per partition of the topic, as `--describe --offsets` prints it. */
function currentOffsets(group: string, topic: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of consumerGroups('--describe', '--offsets', '--group', group).split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols[1] === topic) out.set(Number(cols[2]), cols[3]!)
  }
  return out
}

describe("admin().resetOffsets on Kafka, seen by Kafka's ConsumerGroupCommand and the other way round", () => {
  it('a keyed reset shows in kafka-consumer-groups --describe, and a --reset-offsets there is where keyed resumes', async () => {
    const topic = defineTopic(unique('reset-java'), { partitions: 2 })
    const group = unique('reset-java')
    const client = createClient({ backend: testKafka() })
    try {
      const producer = client.producer()
      const sent = await producer.send(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })),
      )
      const count = (p: number) => sent.filter((m) => m.partition === p).length
      // keyed → Kafka: explicit offsets, then earliest.
      await client.admin().resetOffsets(group, topic, { 0: '1', 1: '2' })
      expect(currentOffsets(group, topic.name)).toEqual(
        new Map([
          [0, '1'],
          [1, '2'],
        ]),
      )
      await client.admin().resetOffsets(group, topic, 'latest')
      expect(currentOffsets(group, topic.name)).toEqual(
        new Map([
          [0, String(count(0))],
          [1, String(count(1))],
        ]),
      )
      // Kafka → keyed: the Java tool moves the group to offset 3 of every partition; keyed reads from there.
      consumerGroups('--reset-offsets', '--group', group, '--topic', topic.name, '--to-offset', '3', '--execute')
      const seen: Array<{ partition: number; offset: string }> = []
      const consumer = client.consumer({ groupId: group })
      await consumer.subscribe(topic, (m) => void seen.push({ partition: m.partition, offset: m.offset }))
      await waitFor('the records from offset 3', 30_000, () => seen.length >= count(0) + count(1) - 6)
      await sleep(300)
      for (const p of [0, 1])
        expect(seen.filter((s) => s.partition === p).map((s) => Number(s.offset))).toEqual(
          Array.from({ length: count(p) - 3 }, (_, i) => i + 3),
        )
      // While keyed's member runs, a keyed reset is refused.
      await expect(client.admin().resetOffsets(group, topic, 'earliest')).rejects.toBeInstanceOf(GroupInUseError)
      await consumer.close()
      // What keyed committed is what the tool shows.
      expect(currentOffsets(group, topic.name)).toEqual(
        new Map([
          [0, String(count(0))],
          [1, String(count(1))],
        ]),
      )
    } finally {
      await client.close()
    }
  }, 180_000)
})
