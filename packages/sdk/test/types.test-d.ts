import { expectTypeOf } from 'vitest'
import { z } from 'zod'
import { defineTopic, type Consumer, type Message, type Producer } from '../src/index.js'

// Compile-time guarantees only: nothing here runs. `npm run typecheck` (tsc over test/) checks this file, and fails
// on an @ts-expect-error that is no longer an error (TS2578) or an expectTypeOf that no longer holds.
const orders = defineTopic('orders', {
  key: z.string(),
  value: z.object({ amount: z.number() }),
  partitions: 12,
  ordering: 'per-key',
})
const settings = defineTopic('user-settings', {
  key: z.string(),
  value: z.object({ theme: z.string() }),
  cleanupPolicy: 'compact',
})
const clicks = defineTopic('clicks', { value: z.object({ page: z.string() }), ordering: 'none' })
const nullableKey = defineTopic('nullable-key', { key: z.string().nullable(), value: z.number() })
const optionalKey = defineTopic('optional-key', { key: z.string().optional(), value: z.number() })

async function sendTypes(producer: Producer) {
  await producer.send(orders, { key: 'c1', value: { amount: 1 } })
  // @ts-expect-error a per-key topic needs a key
  await producer.send(orders, { value: { amount: 1 } })
  // @ts-expect-error a per-key topic does not take a null key
  await producer.send(orders, { key: null, value: { amount: 1 } })
  const maybe = 'x' as string | undefined
  // @ts-expect-error a possibly undefined key is not a key
  await producer.send(orders, { key: maybe, value: { amount: 1 } })
  // @ts-expect-error a nullable key schema does not let a null key onto a per-key topic
  await producer.send(nullableKey, { key: null, value: 1 })
  // @ts-expect-error nor a missing one through an optional key schema
  await producer.send(optionalKey, { value: 1 })
  await producer.send(nullableKey, { key: 'k', value: 1 })
  // @ts-expect-error the value must match the schema
  await producer.send(orders, { key: 'c1', value: { amount: '1' } })
  // @ts-expect-error no tombstones where nothing compacts
  await producer.send(orders, { key: 'c1', value: null })
  // @ts-expect-error tombstone exists only for compacted topics
  await producer.tombstone(orders, 'c1')
  // @ts-expect-error a compacted topic needs a key
  await producer.send(settings, { value: { theme: 'dark' } })
  await producer.send(settings, { key: 'u1', value: null })
  await producer.tombstone(settings, 'u1')
  await producer.send(clicks, { value: { page: '/' } })
  await producer.send(clicks, { key: null, value: { page: '/' } })
  await producer.send(orders, [
    { key: 'a', value: { amount: 1 } },
    { key: 'b', value: { amount: 2 } },
  ])
}

// Ordering and cleanup policy stay literal types.
expectTypeOf(orders.ordering).toEqualTypeOf<'per-key'>()
expectTypeOf(settings.cleanupPolicy).toEqualTypeOf<'compact'>()
expectTypeOf(settings.ordering).toEqualTypeOf<'per-key'>()
expectTypeOf(clicks.cleanupPolicy).toEqualTypeOf<'delete'>()

// Handlers get typed keys, and null values only where tombstones exist.
expectTypeOf<Message<typeof orders>['key']>().toEqualTypeOf<string>()
expectTypeOf<Message<typeof orders>['value']>().toEqualTypeOf<{ amount: number }>()
expectTypeOf<Message<typeof settings>['value']>().toEqualTypeOf<{ theme: string } | null>()
expectTypeOf<Message<typeof clicks>['key']>().toEqualTypeOf<string | null>()
async function handlerTypes(consumer: Consumer) {
  await consumer.subscribe(orders, async (m) => {
    expectTypeOf(m.value.amount).toBeNumber()
  })
}

// Batch handlers and loops get the same typed messages; a batch commits only its own topic's messages.
async function batchTypes(consumer: Consumer, producer: Producer) {
  await consumer.subscribeBatch(settings, async (batch) => {
    expectTypeOf(batch.messages[0]!.value).toEqualTypeOf<{ theme: string } | null>()
    await batch.commit(batch.messages[0]!)
    // @ts-expect-error a message of another topic is not one of this batch
    await batch.commit({} as Message<typeof clicks>)
  })
  for await (const m of consumer.messages(orders, { signal: AbortSignal.timeout(1000) }))
    expectTypeOf(m.key).toEqualTypeOf<string>()
  await producer.send(orders, { key: 'c1', value: { amount: 1 } }, { signal: AbortSignal.timeout(1000) })
  await consumer.close({ signal: AbortSignal.timeout(1000) })
}

export { batchTypes, handlerTypes, sendTypes }
