// User settings too many for one process: two instances of the settings service share the table's partitions.
//   KEYED_BACKEND=redis npx tsx settings-shards.ts
// Each instance loads only its partitions (client.table(topic, { groupId })); a router sends each read to the instance
// that owns the key's partition (table.partitionOf), and a read that lands on the wrong one says which partition owns
// it. When one instance stops, the other takes over its partitions and serves every user.
import { createClient, defineTopic, isKeyedError, NotOwnedError } from '@keyed/sdk'
import { z } from 'zod'
import { backendFromEnv } from './backend.js'

const Settings = z.object({ theme: z.enum(['light', 'dark']), version: z.number().int() })
type Settings = z.infer<typeof Settings>
const run = process.env.RUN_ID ?? Date.now().toString(36)
const settings = defineTopic(`user-settings-shards-${run}`, {
  key: z.string(),
  value: Settings,
  partitions: 4,
  cleanupPolicy: 'compact',
})
const groupId = `settings-service-${run}`
const group = { groupId, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 } // 6 s: Kafka's least

const admin = createClient({ backend: backendFromEnv(), clientId: 'settings-admin' })
const users = Array.from({ length: 100 }, (_, i) => `user-${i}`)
const written = new Map<string, Settings | null>()
const write = async (updates: Array<[string, Settings | null]>) => {
  await admin.producer().send(
    settings,
    updates.map(([key, value]) => ({ key, value })),
  )
  for (const [key, value] of updates) written.set(key, value)
}
await write(users.map((u) => [u, { theme: 'light', version: 1 }]))

// Two instances of the service, each with its own client (in production: its own process).
const instances = ['a', 'b'].map((name) => {
  const client = createClient({ backend: backendFromEnv(), clientId: `settings-${name}` })
  return { name, client, table: client.table(settings, group) }
})
for (const { table } of instances) await table.ready()
const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]]

/** Who answers for a user: the instance that owns its partition; undefined while its partition moves or loads. */
const route = (user: string) => instances.find((i) => i.table.owns(user))
const read = (user: string): Settings | undefined | 'unavailable' => {
  try {
    const owner = route(user)
    return owner ? owner.table.get(user) : 'unavailable'
  } catch (error) {
    if (isKeyedError(error) && error.retriable) return 'unavailable' // NOT_READY (loading) or NOT_OWNED (moved): retry
    throw error
  }
}
const matches = () =>
  users.filter((u) => {
    const got = read(u)
    return got !== 'unavailable' && (got?.version ?? null) === (written.get(u)?.version ?? null)
  }).length
const settle = async (check: () => boolean) => {
  const deadline = Date.now() + 60_000
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

await settle(() => a.table.assignment().length + b.table.assignment().length === 4 && matches() === users.length)
console.log(
  `${admin.backend.name}: a holds partitions ${a.table.assignment().join(',')} (${a.table.size} users), ` +
    `b holds ${b.table.assignment().join(',')} (${b.table.size} users); ${matches()}/${users.length} users served by their owner`,
)

// A read sent to the wrong instance names the partition that owns the user.
const stray = users.find((u) => !a.table.owns(u))!
try {
  a.table.get(stray)
} catch (error) {
  if (error instanceof NotOwnedError)
    console.log(
      `a read on the wrong instance: NOT_OWNED, partition ${error.partition} (the router says ${b.table.partitionOf(stray)})`,
    )
}

// Updates and deletes while b stops; a takes over b's partitions and serves every user.
await write(users.map((u, i) => [u, i % 10 === 0 ? null : { theme: 'dark', version: 2 }]))
await b.client.close()
instances.splice(1, 1)
await write(users.slice(0, 50).map((u) => [u, { theme: 'light', version: 3 }]))
await settle(() => a.table.assignment().length === 4 && matches() === users.length)
const current = matches()
console.log(
  `after b stopped: a holds partitions ${a.table.assignment().join(',')} (${a.table.size} users); ${current}/${users.length} users match the last write`,
)
await a.client.close()
await admin.close()
process.exitCode = current === users.length ? 0 : 1
