// A small order service: the same code on memory, Kafka or Redis.
//   KEYED_BACKEND=kafka npx tsx orders-service.ts
// It places orders keyed by customer, and a billing consumer group totals each customer's orders in order.
import { createClient, defineTopic } from '@keyed/sdk'
import { z } from 'zod'
import { backendFromEnv } from './backend.js'

const OrderEvent = z.object({
  orderId: z.string(),
  step: z.enum(['placed', 'paid', 'shipped']),
  amount: z.number().nonnegative(),
})
const run = process.env.RUN_ID ?? Date.now().toString(36)
const orders = defineTopic(`orders-${run}`, { key: z.string(), value: OrderEvent, partitions: 6 })

const client = createClient({ backend: backendFromEnv(), clientId: 'orders-service' })
const steps = ['placed', 'paid', 'shipped'] as const
const customers = Array.from({ length: 10 }, (_, i) => `customer-${i}`)

const seen = new Map<string, string[]>()
let handled = 0
const billing = client.consumer({ groupId: `billing-${run}`, deadLetter: true })
await billing.subscribe(
  orders,
  (msg) => {
    // Per-key order: a customer's order is never 'shipped' before it was 'paid'.
    const history = seen.get(msg.key) ?? []
    seen.set(msg.key, [...history, msg.value.step])
    handled++
  },
  { fromBeginning: true },
)

const producer = client.producer({ ordering: 'strict' })
for (const step of steps) {
  await producer.send(
    orders,
    customers.map((customer) => ({
      key: customer,
      value: { orderId: `o-${customer}`, step, amount: step === 'paid' ? 42 : 0 },
    })),
  )
}

const deadline = Date.now() + 30_000
while (handled < customers.length * steps.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
const inOrder = customers.filter((c) => seen.get(c)?.join(',') === steps.join(',')).length
console.log(
  `${client.backend.name}: ${handled} events handled, ${inOrder}/${customers.length} customers saw placed → paid → shipped in order`,
)
await client.close()
process.exitCode = inOrder === customers.length ? 0 : 1
