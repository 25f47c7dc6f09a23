import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createClient,
  DEAD_LETTER_HEADERS,
  defineTopic,
  isKeyedError,
  serdes,
  type Client,
  type KeyedError,
} from '@keyed/sdk'
import { Keys } from '../src/keys.js'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { backendFactory, cleanup, REDIS_URL, runPrefix, uniqueTopic } from './helpers.js'

const prefix = runPrefix()
const backend = backendFactory(prefix)
const clients: Client[] = []
const client = () => {
  const c = createClient({ backend: backend() })
  clients.push(c)
  return c
}
const raw = new Redis(REDIS_URL)
const fast = { sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 }

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  raw.disconnect()
  await cleanup(prefix)
})

/** Entries another client put into keyed's layout, each with one thing keyed cannot read, and why. */
const BAD: ReadonlyArray<{ fields: string[]; reason: RegExp }> = [
  { fields: ['k', 'bad', 'v', '"x"', 'h', 'not json', 't', '1'], reason: /headers .*not JSON/ },
  { fields: ['k', 'bad', 'v', '"x"', 'h', '{"a":1}', 't', '1'], reason: /headers .*string/ },
  { fields: ['k', 'bad', 'v', '"x"', 'h', '["a"]', 't', '1'], reason: /headers .*object/ },
  { fields: ['k', 'bad', 'v', '"x"', 't', 'yesterday'], reason: /timestamp/ },
  { fields: ['k', 'bad', 'v', '"x"'], reason: /no 't' \(timestamp\)/ },
  { fields: ['key', 'bad', 'value', '"x"', 't', '1'], reason: /unknown field 'key'/ },
  { fields: ['k', 'bad', 'k', 'again', 'v', '"x"', 't', '1'], reason: /'k' twice/ },
]

/** good-0, then every BAD entry written with raw XADDs, then good-1, all on partition 0. */
async function seed(topicName: string) {
  const c = client()
  const topic = defineTopic(topicName, { partitions: 1 })
  await c.admin().ensureTopics([topic])
  const producer = c.producer()
  await producer.send(topic, { key: 'good', value: 'good-0' })
  const stream = new Keys(prefix).stream(topicName, 0)
  const ids: string[] = []
  for (const bad of BAD) ids.push((await raw.xadd(stream, '*', ...bad.fields))!)
  await producer.send(topic, { key: 'good', value: 'good-1' })
  return { topic, ids }
}

describe('redis entries keyed did not write', () => {
  it('dead-letters each malformed entry with its reason and delivers the good ones around them in order', async () => {
    const { topic, ids } = await seed(uniqueTopic('malformed-dlq'))
    const got: unknown[] = []
    const errors: KeyedError[] = []
    await client()
      .consumer({ groupId: 'g', deadLetter: true, onError: (e) => void errors.push(e), ...fast })
      .subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
    const dead: Array<{
      offset: string | undefined
      stage: string | undefined
      error: string | undefined
      key: string | null
    }> = []
    await client()
      .consumer({ groupId: 'dlq-reader', ...fast })
      .subscribe(
        defineTopic(`${topic.name}.dlq`, { partitions: 1, ordering: 'none', value: serdes.bytes() }),
        (m) => {
          const h = m.headers as Record<string, string>
          dead.push({
            offset: h[DEAD_LETTER_HEADERS.offset],
            stage: h[DEAD_LETTER_HEADERS.stage],
            error: h[DEAD_LETTER_HEADERS.error],
            key: m.key,
          })
        },
        { fromBeginning: true },
      )
    await waitFor('both good records', 10_000, () => got.length >= 2)
    await waitFor('every malformed entry in the dead-letter topic', 10_000, () => dead.length >= BAD.length)
    expect(got).toEqual(['good-0', 'good-1'])
    expect(dead.map((d) => d.offset)).toEqual(ids)
    BAD.forEach((bad, i) => {
      expect(dead[i]!.stage).toBe('deserialize')
      expect(dead[i]!.error).toMatch(bad.reason)
    })
    // What could be read travels with the dead letter: the key bytes, so it lands by the same key.
    expect(dead[0]!.key).toBe('bad')
    expect(errors).toEqual([])
  })

  it('without a dead-letter topic, delivers the good record before a malformed one and stops with a SerdeError', async () => {
    const { topic, ids } = await seed(uniqueTopic('malformed-stop'))
    const got: unknown[] = []
    const errors: KeyedError[] = []
    const consumer = client().consumer({ groupId: 'g', onError: (e) => void errors.push(e), ...fast })
    await consumer.subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
    await waitFor('the consumer to stop on the malformed entry', 10_000, () => errors.length > 0)
    await expect(consumer.stopped()).rejects.toBe(errors[0])
    await sleep(200)
    expect(got).toEqual(['good-0'])
    expect(errors).toHaveLength(1)
    const error = errors[0]!
    expect(isKeyedError(error, 'SERDE')).toBe(true)
    expect(error.retriable).toBe(false)
    expect(error.message).toContain(ids[0]!)
    expect(error.message).toMatch(BAD[0]!.reason)
    expect(error).toMatchObject({ field: 'headers' })
  })
})
