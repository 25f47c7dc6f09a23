import { describe, expect, it } from 'vitest'
import { createClient, defineTopic } from '../src/index.js'
import { raw, scriptedBackend } from './scripted-backend.js'

const records = (topic: string) =>
  Array.from({ length: 8 }, (_, i) =>
    raw({ topic, offset: String(i), key: Buffer.from(`k${i}`), value: Buffer.from('1') }),
  )

/** Subscribes both topics on one consumer and reports the most records of each handled at once. */
async function peaks(
  consumer: { concurrency?: number; ordering?: 'key' | 'partition' },
  a: { concurrency?: number; ordering?: 'key' | 'partition' },
) {
  const backend = scriptedBackend([...records('a'), ...records('b')])
  const client = createClient({ backend })
  const c = client.consumer({ groupId: 'g', ...consumer })
  const now = { a: 0, b: 0 }
  const peak = { a: 0, b: 0 }
  const handler = (t: 'a' | 'b') => async () => {
    peak[t] = Math.max(peak[t], ++now[t])
    await new Promise((r) => setTimeout(r, 5))
    now[t]--
  }
  await c.subscribe(defineTopic('a'), handler('a'), a)
  await c.subscribe(defineTopic('b'), handler('b'))
  await client.close()
  return peak
}

describe('a subscribe() override of concurrency', () => {
  it('gives one topic its own concurrency while the others keep the consumer’s', async () => {
    expect(await peaks({}, { concurrency: 4 })).toEqual({ a: 4, b: 1 })
    expect(await peaks({ concurrency: 4 }, { concurrency: 1 })).toEqual({ a: 1, b: 4 })
    expect(await peaks({ concurrency: 4 }, { ordering: 'partition' })).toEqual({ a: 1, b: 4 })
  })

  it('replaces only what it names: an ordering override keeps the consumer’s concurrency, and the reverse', async () => {
    expect(await peaks({ concurrency: 4 }, { ordering: 'key' })).toEqual({ a: 4, b: 4 })
    expect(await peaks({ concurrency: 4, ordering: 'partition' }, { concurrency: 8 })).toEqual({ a: 1, b: 1 })
  })

  it('is checked like the consumer option', async () => {
    const client = createClient({ backend: scriptedBackend([]) })
    await expect(
      client.consumer({ groupId: 'g' }).subscribe(defineTopic('a'), () => {}, { concurrency: 0 }),
    ).rejects.toThrow(/subscribe\('a'\) concurrency must be an integer >= 1/)
    await expect(
      client.consumer({ groupId: 'g', autoCommit: false }).subscribe(defineTopic('a'), () => {}, { concurrency: 2 }),
    ).rejects.toThrow(/autoCommit: false cannot be combined/)
  })
})
