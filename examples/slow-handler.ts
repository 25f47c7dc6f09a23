// A slow handler made fast by per-key concurrency, on the in-memory backend.
// Every event awaits a 5 ms "database write". One partition's records one at a time caps a consumer at
// partitions ÷ 5 ms; with concurrency, records of different accounts run side by side while each account's
// events still apply in order (its running balance proves it).
import { createClient, defineTopic } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { z } from 'zod'

const Event = z.object({ account: z.string(), seq: z.number().int(), amount: z.number() })
const events = defineTopic('account-events', { key: z.string(), value: Event, partitions: 6 })
const ACCOUNTS = 300
const PER_ACCOUNT = 6
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const broker = new MemoryBroker()
const producer = createClient({ backend: memory({ broker }) })
const batch = Array.from({ length: PER_ACCOUNT }, (_, seq) =>
  Array.from({ length: ACCOUNTS }, (_, a) => ({
    key: `acct-${a}`,
    value: { account: `acct-${a}`, seq, amount: seq + 1 },
  })),
).flat()
await producer.producer().send(events, batch)
await producer.close()

/** Drains the topic with a fresh group; returns the time taken and the accounts whose events arrived out of order. */
async function drain(concurrency: number): Promise<{ ms: number; outOfOrder: number }> {
  const client = createClient({ backend: memory({ broker }) })
  const next = new Map<string, number>()
  let outOfOrder = 0
  let handled = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const started = performance.now()
  await client.consumer({ groupId: `ledger-c${concurrency}`, concurrency }).subscribe(
    events,
    async (msg) => {
      if ((next.get(msg.key) ?? 0) !== msg.value.seq) outOfOrder++
      next.set(msg.key, msg.value.seq + 1)
      await sleep(5) // the database write
      if (++handled === batch.length) done()
    },
    { fromBeginning: true },
  )
  await finished
  const ms = performance.now() - started
  await client.close()
  return { ms, outOfOrder }
}

const slow = await drain(1)
const fast = await drain(64)
console.log(`${batch.length} events of ${ACCOUNTS} accounts, each handler awaiting a 5 ms write, 6 partitions:`)
console.log(`  concurrency 1  : ${Math.round(slow.ms)} ms (${slow.outOfOrder} accounts' events out of order)`)
console.log(`  concurrency 64 : ${Math.round(fast.ms)} ms (${fast.outOfOrder} accounts' events out of order)`)
console.log(`  speed-up       : ${(slow.ms / fast.ms).toFixed(1)}x`)
broker.close()
