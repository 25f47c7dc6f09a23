import { createClient, defineTopic, serdes } from '@keyed/sdk'
import { memory } from '@keyed/adapter-memory'

export const orders = defineTopic('orders', { value: serdes.json<{ amount: number }>(), partitions: 12 })
export const audit = defineTopic('audit', { value: serdes.json<{ line: string }>() })
export const producer = createClient({ backend: memory() }).producer()

export async function place(amount: number, id: string | undefined): Promise<void> {
  await producer.send(orders, { key: `order-${Math.random()}`, value: { amount } }) // expect: no-unstable-key
  await producer.send(orders, { key: id, value: { amount } }) // expect: no-null-key-on-ordered-topic
}
