import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BackendRefusedError, createClient, defineTopic } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, CLIENT, testKafka } from './support/brokers.js'
import { spawnJava } from './support/java.js'

const javaMember = fileURLToPath(new URL('./interop/JavaGroupMember.java', import.meta.url))

/** A Java consumer holding partitions of `group` for a while, on the given group protocol. */
async function javaMemberOf(topic: string, group: string, protocol: 'classic' | 'consumer') {
  const child = spawnJava(javaMember, [BROKER, topic, group, protocol, '90'])
  let assigned = false
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()))
  createInterface({ input: child.stdout }).on('line', (line) => void (assigned ||= line.startsWith('assigned')))
  await waitFor(
    `the Java ${protocol} member to hold partitions`,
    60_000,
    () => assigned || child.exitCode !== null,
  ).catch((e: unknown) => {
    child.kill('SIGKILL')
    throw e
  })
  if (!assigned) throw new Error(`the Java member exited: ${stderr}`)
  return child
}

describe('kafka consumer groups shared with Java consumers', () => {
  it.runIf(CLIENT === 'kafkajs')(
    'refuses to join a group of Java consumers on the classic protocol, saying why and what works',
    async () => {
      const topic = defineTopic(unique('java-classic'), { partitions: 2 })
      const group = unique('java-classic')
      const client = createClient({ backend: testKafka() })
      await client.admin().ensureTopics([topic])
      const java = await javaMemberOf(topic.name, group, 'classic')
      try {
        const error = await client
          .consumer({ groupId: group })
          .subscribe(topic, () => {})
          .catch((e: unknown) => e)
        expect(error).toBeInstanceOf(BackendRefusedError)
        expect(error).toMatchObject({ code: 'BACKEND_REFUSED', setting: 'groupId', retriable: false })
        expect((error as Error).message).toMatch(
          /INCONSISTENT_GROUP_PROTOCOL.*Java consumer on the classic protocol.*group\.protocol=consumer/,
        )
      } finally {
        java.kill('SIGKILL')
        await client.close()
      }
    },
    120_000,
  )

  // Java's default assignors on the classic protocol are [range, cooperative-sticky]: a cooperative member has one in common.
  it.runIf(CLIENT === 'platformatic')(
    'cooperative: shares a group with a Java consumer on the classic protocol, each holding a partition',
    async () => {
      const topic = defineTopic(unique('java-coop'), { partitions: 2 })
      const group = unique('java-coop')
      const client = createClient({ backend: testKafka() })
      await client.admin().ensureTopics([topic])
      const java = await javaMemberOf(topic.name, group, 'classic')
      try {
        const consumer = client.consumer({ groupId: group })
        await consumer.subscribe(topic, () => {})
        await waitFor(
          'the keyed member to hold one of the two partitions',
          30_000,
          () => consumer.assignment().length === 1,
        )
      } finally {
        java.kill('SIGKILL')
        await client.close()
      }
    },
    120_000,
  )

  it('joins a group whose Java members use group.protocol=consumer (KIP-848)', async () => {
    const topic = defineTopic(unique('java-848'), { partitions: 2 })
    const group = unique('java-848')
    const client = createClient({ backend: testKafka() })
    await client.admin().ensureTopics([topic])
    const java = await javaMemberOf(topic.name, group, 'consumer')
    try {
      await client.consumer({ groupId: group }).subscribe(topic, () => {})
    } finally {
      java.kill('SIGKILL')
      await client.close()
    }
  }, 120_000)
})
