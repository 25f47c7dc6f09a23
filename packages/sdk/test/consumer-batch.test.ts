import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createClient, defineTopic, isKeyedError, type KeyedError } from '../src/index.js'
import { raw, scriptedBackend } from './scripted-backend.js'

const topic = defineTopic('t', { value: z.object({ n: z.number() }) })
const records = (values: readonly unknown[]) =>
  values.map((v, i) => raw({ offset: String(i), value: Buffer.from(JSON.stringify(v)) }))

describe('subscribeBatch', () => {
  it('cuts a backend batch into maxBatchSize records and commits each after the handler resolved', async () => {
    const backend = scriptedBackend(records(Array.from({ length: 10 }, (_, n) => ({ n }))))
    const client = createClient({ backend })
    const sizes: number[] = []
    await client
      .consumer({ groupId: 'g' })
      .subscribeBatch(topic, (batch) => void sizes.push(batch.messages.length), { maxBatchSize: 3 })
    await client.close()
    expect(sizes).toEqual([3, 3, 3, 1])
    expect(backend.commits.map((c) => c.offset)).toEqual(['2', '5', '8', '9'])
  })

  it('without deadLetter, handles and commits the records before one that does not validate, then stops on it', async () => {
    const backend = scriptedBackend(records([{ n: 0 }, { n: 1 }, { n: 'two' }, { n: 3 }]))
    const client = createClient({ backend })
    const consumer = client.consumer({ groupId: 'g', onError: () => {} })
    const stopped = consumer.stopped().catch((e: unknown) => e as KeyedError)
    const batches: number[][] = []
    await consumer.subscribeBatch(topic, (batch) => void batches.push(batch.messages.map((m) => m.value.n)))
    const error = await stopped
    await client.close().catch(() => undefined)
    expect(batches).toEqual([[0, 1]])
    expect(backend.commits.map((c) => c.offset)).toEqual(['1'])
    expect(isKeyedError(error, 'SCHEMA')).toBe(true)
    expect(error).toMatchObject({ offset: '2', direction: 'receive' })
  })

  it('refuses to commit a message that is not of the batch', async () => {
    const client = createClient({ backend: scriptedBackend(records([{ n: 0 }, { n: 1 }])) })
    let refusal: unknown
    await client.consumer({ groupId: 'g' }).subscribeBatch(topic, async (batch) => {
      refusal = await batch.commit({ ...batch.messages[0]!, offset: '99' }).then(
        () => undefined,
        (e: unknown) => e,
      )
    })
    await client.close()
    expect(isKeyedError(refusal, 'CONFIG')).toBe(true)
    expect((refusal as Error).message).toMatch(/takes a message of this batch \(t\[0\] offsets 0–1\); got t\[0\]@99/)
  })
})

describe('messages()', () => {
  it("must be a consumer's only subscription, since leaving the loop closes the consumer", async () => {
    const client = createClient({ backend: scriptedBackend([]) })
    const subscribed = client.consumer({ groupId: 'g' })
    await subscribed.subscribe(topic, () => {})
    expect(() => subscribed.messages(defineTopic('other'))).toThrow(/must be a consumer's only subscription/)
    const iterating = client.consumer({ groupId: 'g2' })
    const loop = iterating.messages(topic)
    await expect(iterating.subscribe(defineTopic('other'), () => {})).rejects.toThrow(/iterates messages\(\)/)
    await loop.return!()
    await client.close()
  })

  it('ends at once with an AbortError for a signal already aborted, and subscribes nothing', async () => {
    const client = createClient({ backend: scriptedBackend(records([{ n: 0 }])) })
    const loop = client.consumer({ groupId: 'g' }).messages(topic, { signal: AbortSignal.abort() })
    await expect(loop.next()).rejects.toMatchObject({ code: 'ABORTED', name: 'AbortError' })
    await expect(loop.next()).resolves.toEqual({ done: true, value: undefined })
    await client.close()
  })
})
