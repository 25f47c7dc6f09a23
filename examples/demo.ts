// keyed in five minutes, on the in-memory backend: why the key matters.
//   1. order per key: a bank ledger is right only when a customer's payments are handled in order
//   2. compaction: a settings topic keeps only the latest value per key; a tombstone deletes a key
//   3. consumer groups: three members split the partitions and take over when one leaves
import { createClient, defineTopic, type AnyTopic, type Client, type Message } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { z } from 'zod'

const broker = new MemoryBroker()
const client = createClient({ backend: memory({ broker }) })
const producer = client.producer({ ordering: 'strict' })
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const Payment = z.object({
  customer: z.string(),
  kind: z.enum(['deposit', 'withdrawal']),
  amount: z.number().positive(),
})
type Payment = z.infer<typeof Payment>

// --- 1. Order per key ------------------------------------------------------------------------
const payments = defineTopic('payments', { key: z.string(), value: Payment, partitions: 6, ordering: 'per-key' })
const paymentsNoKey = defineTopic('payments-keyless', { value: Payment, partitions: 6, ordering: 'none' })

// Every customer: +100, +50, -120, +30, -60. Handled in order the balance ends at 0 and nothing bounces.
const script: [Payment['kind'], number][] = [
  ['deposit', 100],
  ['deposit', 50],
  ['withdrawal', 120],
  ['deposit', 30],
  ['withdrawal', 60],
]
const customers = Array.from({ length: 20 }, (_, i) => `customer-${i + 1}`)

async function runLedger(
  topic: AnyTopic,
  send: (p: Payment) => Promise<unknown>,
): Promise<{ correct: number; bounced: number }> {
  const balances = new Map<string, number>()
  let bounced = 0
  let handled = 0
  const members: Client[] = []
  for (let m = 0; m < 3; m++) {
    const member = createClient({ backend: memory({ broker }), clientId: `ledger-${m}` })
    members.push(member)
    await member.consumer({ groupId: `ledger-${topic.name}` }).subscribe(topic, async (msg: Message<AnyTopic>) => {
      const p = Payment.parse(msg.value)
      await sleep((p.amount * 7 + msg.partition * 13) % 5) // each partition works at its own pace
      const balance = balances.get(p.customer) ?? 0
      if (p.kind === 'deposit') balances.set(p.customer, balance + p.amount)
      else if (balance >= p.amount) balances.set(p.customer, balance - p.amount)
      else bounced++
      handled++
    })
  }
  for (const [kind, amount] of script) for (const customer of customers) await send({ customer, kind, amount })
  while (handled < customers.length * script.length) await sleep(10)
  await Promise.all(members.map((m) => m.close()))
  return { correct: customers.filter((c) => balances.get(c) === 0).length, bounced }
}

console.log('\n1) Order per key: 20 customers each deposit 100, deposit 50, withdraw 120, deposit 30, withdraw 60')
const keyed = await runLedger(payments, (p) => producer.send(payments, { key: p.customer, value: p }))
console.log(`   keyed by customer id : ${keyed.correct}/20 balances end at 0, ${keyed.bounced} withdrawals bounced`)
const roundRobin = client.producer({ nullKeyStrategy: 'round-robin' })
const keyless = await runLedger(paymentsNoKey, (p) => roundRobin.send(paymentsNoKey, { value: p }))
console.log(`   without a key        : ${keyless.correct}/20 balances end at 0, ${keyless.bounced} withdrawals bounced`)
console.log(
  "   With the customer id as key, all of a customer's payments share one partition and are handled in order.",
)
console.log('   Without it they spread over partitions that three consumers work through at their own pace, so a')
console.log('   withdrawal can be handled before the deposit that pays for it.')

// --- 2. Compaction ---------------------------------------------------------------------------
const Settings = z.object({ theme: z.string() })
const settings = defineTopic('user-settings', {
  key: z.string(),
  value: Settings,
  cleanupPolicy: 'compact',
  deleteRetentionMs: 100,
})

async function readLog(): Promise<string[]> {
  const reader = createClient({ backend: memory({ broker }) })
  const lines: string[] = []
  await reader.consumer({ groupId: `reader-${Date.now()}` }).subscribe(
    settings,
    (m) => {
      lines.push(`offset ${m.offset}: ${m.key} = ${m.value === null ? '(tombstone)' : m.value.theme}`)
    },
    { fromBeginning: true },
  )
  // Read until the log goes quiet: compaction may have removed the last offsets written.
  for (let seen = -1; lines.length === 0 || seen !== lines.length;) {
    seen = lines.length
    await sleep(50)
  }
  await reader.close()
  return lines
}

console.log('\n2) Compaction: user-settings keeps the latest value per key')
await producer.send(settings, [
  { key: 'user-123', value: { theme: 'dark' } },
  { key: 'user-456', value: { theme: 'light' } },
  { key: 'user-123', value: { theme: 'blue' } },
  { key: 'user-789', value: { theme: 'red' } },
])
await producer.tombstone(settings, 'user-456')
console.log('   as written:')
for (const line of await readLog()) console.log(`     ${line}`)
await sleep(150) // past deleteRetentionMs, so the cleaner may drop the tombstone too
broker.runCleaner()
console.log('   after the cleaner ran (offsets never change):')
for (const line of await readLog()) console.log(`     ${line}`)
console.log('   user-123 kept only "blue"; user-456 is gone: its tombstone deleted it, then itself.')

// --- 3. Consumer group -----------------------------------------------------------------------
const Order = z.object({ id: z.number() })
const orders = defineTopic('orders', { key: z.string(), value: Order, partitions: 6 })
const seenBy = new Map<string, Set<number>>()
const shippers = ['shipper-a', 'shipper-b', 'shipper-c']
const shipperClients = new Map<string, Client>()
for (const name of shippers) {
  const member = createClient({ backend: memory({ broker }), clientId: name })
  shipperClients.set(name, member)
  await member.consumer({ groupId: 'shipping' }).subscribe(orders, (m) => {
    if (!seenBy.has(name)) seenBy.set(name, new Set())
    seenBy.get(name)!.add(m.partition)
  })
}
const sendOrders = async (from: number) => {
  await producer.send(
    orders,
    Array.from({ length: 60 }, (_, i) => ({ key: `order-${from + i}`, value: { id: from + i } })),
  )
  await sleep(50)
}
const show = (title: string) => {
  console.log(`   ${title}`)
  for (const [name, parts] of [...seenBy].sort())
    console.log(`     ${name} handled partitions ${[...parts].sort().join(', ')}`)
  seenBy.clear()
}

console.log('\n3) Consumer group: three shippers share the 6 partitions of orders')
await sendOrders(0)
show('with three members:')
await shipperClients.get('shipper-b')!.close()
await sendOrders(100)
show('after shipper-b left (its partitions moved, each still handled by one member):')

await Promise.all([...shipperClients.values()].map((c) => c.close()))
await client.close()
broker.close()
console.log(
  '\nDone. Swap memory() for kafka({ brokers }) or redis({ url }) and the same code runs on a real backend.\n',
)
