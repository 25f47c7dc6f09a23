import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BackendRefusedError, createClient, defineTopic } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { BROKER, testKafka } from './support/brokers.js'
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
  it('refuses to join a group of Java consumers on the classic protocol, saying why and what works', async () => {
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
  }, 120_000)

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
