import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { Keys } from '../src/keys.js'
import { backendFactory, cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

const prefix = runPrefix()
const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
const keys = new Keys(prefix)
const client = createClient({ backend: backendFactory(prefix, { cleanerIntervalMs: 100 })() })

afterAll(async () => {
  await client.close()
  await cleanup(prefix)
  raw.disconnect()
})

const topicOf = (name: string, minCompactionLagMs: number) =>
  defineTopic(uniqueTopic(name), {
    key: serdes.string(),
    value: serdes.string(),
    partitions: 1,
    cleanupPolicy: 'compact',
    minCompactionLagMs,
    deleteRetentionMs: 0,
  })

/** The partition's entries as key=value (key=∅ for a tombstone). */
const show = async (topic: string) =>
  (await raw.xrange(keys.stream(topic, 0), '-', '+')).map(([, f]) => {
    const v = f.indexOf('v')
    return `${f[f.indexOf('k') + 1]}=${v < 0 ? '∅' : f[v + 1]}`
  })

/** Another client's well-formed record (the README: any client can XADD). */
const xadd = (topic: string, key: string, value?: string) =>
  raw.xadd(keys.stream(topic, 0), '*', 'k', key, ...(value === undefined ? [] : ['v', value]), 't', String(Date.now()))

/** Waits (at most 10 s) for the entries to be these; then they are compared, showing what they are. */
const settled = async (topic: string, expected: string[]) => {
  await waitFor(
    'the cleaner',
    10_000,
    async () => JSON.stringify(await show(topic)) === JSON.stringify(expected),
  ).catch(() => undefined)
  expect(await show(topic)).toEqual(expected)
}

describe('compaction with entries other clients appended', () => {
  it('keeps the newest entry of each key, indexed or not, and removes what it superseded', async () => {
    const topic = topicOf('compact-raw', 0)
    await client.admin().ensureTopics([topic])
    const producer = client.producer()
    await producer.send(topic, { key: 'x', value: 'x1' })
    await xadd(topic.name, 'x', 'x2')
    await xadd(topic.name, 'only-raw', 'r1')
    await producer.send(topic, { key: 'y', value: 'y1' })
    await producer.send(topic, { key: 'y', value: 'y2' }) // marks the partition dirty
    const expected = ['x=x2', 'only-raw=r1', 'y=y2']
    await settled(topic.name, expected)
    await sleep(500) // a few more passes change nothing
    expect(await show(topic.name)).toEqual(expected)
    expect(await raw.get(keys.dirty(topic.name, 0))).toBe('0')
  }, 20_000)

  it("another client's tombstone deletes the key: its older value goes, then the tombstone, and nothing comes back", async () => {
    const topic = topicOf('compact-raw-tomb', 0)
    await client.admin().ensureTopics([topic])
    const producer = client.producer()
    await producer.send(topic, { key: 'k', value: 'v1' })
    await xadd(topic.name, 'k')
    await producer.send(topic, { key: 'y', value: 'y1' })
    await producer.send(topic, { key: 'y', value: 'y2' })
    await settled(topic.name, ['y=y2'])
    await sleep(500)
    expect(await show(topic.name)).toEqual(['y=y2'])
    expect(await raw.hexists(keys.index(topic.name, 0), 'k')).toBe(0)
  }, 20_000)

  it('within minCompactionLagMs the newer entry is adopted and nothing is deleted', async () => {
    const topic = topicOf('compact-raw-lag', 600_000)
    await client.admin().ensureTopics([topic])
    const producer = client.producer()
    await producer.send(topic, { key: 'x', value: 'x1' })
    const x2 = await xadd(topic.name, 'x', 'x2')
    await producer.send(topic, { key: 'x', value: 'x3' })
    await xadd(topic.name, 'x', 'x4')
    const x4 = (await raw.xrevrange(keys.stream(topic.name, 0), '+', '-', 'COUNT', 1))[0]![0]
    await waitFor(
      'the cleaner to adopt x4',
      10_000,
      async () => (await raw.hget(keys.index(topic.name, 0), 'x')) === x4,
    )
    expect(x2).not.toBe(x4)
    expect(await show(topic.name)).toEqual(['x=x1', 'x=x2', 'x=x3', 'x=x4'])
  }, 20_000)
})
