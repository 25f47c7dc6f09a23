// User settings as a table: the latest settings of every user in memory, kept current while they change.
//   KEYED_BACKEND=redis npx tsx settings-table.ts
// A compacted topic holds each user's latest settings (a tombstone deletes a user). The service loads it with
// client.table(), serves reads from memory and hears every change, while an admin tool keeps updating settings.
import { createClient, defineTopic, serdes, type InvalidRecordError, type KeyedError } from '@keyed/sdk'
import { z } from 'zod'
import { backendFromEnv } from './backend.js'

const Settings = z.object({
  theme: z.enum(['light', 'dark']),
  fontSize: z.number().int().min(8).max(32),
  version: z.number().int(),
})
type Settings = z.infer<typeof Settings>
const run = process.env.RUN_ID ?? Date.now().toString(36)
const name = `user-settings-${run}`
const settings = defineTopic(name, { key: z.string(), value: Settings, partitions: 4, cleanupPolicy: 'compact' })
// The same topic as a legacy tool sees it: any JSON at all.
const legacy = defineTopic(name, { value: serdes.json<unknown>(), partitions: 4, cleanupPolicy: 'compact' })

const client = createClient({ backend: backendFromEnv(), clientId: 'settings-service' })
const admin = client.producer({ ordering: 'strict' })
const users = Array.from({ length: 50 }, (_, i) => `user-${i}`)
/** What the admin tool wrote last for each user; null once deleted. */
const written = new Map<string, Settings | null>()
const write = async (updates: Array<[string, Settings | null]>) => {
  await admin.send(
    settings,
    updates.map(([key, value]) => ({ key, value })),
  )
  for (const [key, value] of updates) written.set(key, value)
}

// Before the service starts: every user has settings, five of them deleted again.
await write(users.map((u, i) => [u, { theme: i % 2 ? 'dark' : 'light', fontSize: 12, version: 1 }]))
await write(users.slice(45).map((u) => [u, null]))
// A legacy tool once wrote a record the schema refuses.
const [bad] = await admin.send(legacy, [{ key: 'user-7', value: { theme: 'purple', fontSize: 'big' } }])

const skipped: InvalidRecordError[] = []
const table = client.table(settings, {
  onError: (error: KeyedError) => {
    if (error.code === 'INVALID_RECORD') skipped.push(error as InvalidRecordError)
    else console.error(error.message)
  },
})
await table.ready()
const loaded = users.filter((u) => {
  const expected = written.get(u)
  return expected ? table.get(u)?.version === expected.version && table.get(u)?.theme === expected.theme : !table.has(u)
})
console.log(
  `${client.backend.name}: ready with ${table.size} users, ${loaded.length}/${users.length} as written before the start`,
)
console.log(
  `skipped ${skipped.length} invalid record (partition ${skipped[0]?.partition} offset ${skipped[0]?.offset}, written at partition ${bad!.partition} offset ${bad!.offset}); ` +
    `user-7 kept theme ${table.get('user-7')?.theme}`,
)

// The service hears every change after ready, in order per user: each change's previous is what it heard last.
const last = new Map<string, number>(users.map((u) => [u, table.get(u)?.version ?? 0]))
const outOfOrder = new Set<string>()
let changes = 0
table.subscribe(({ key, value, previous }) => {
  changes++
  if ((previous?.version ?? 0) !== last.get(key) || (value !== null && value.version <= last.get(key)!))
    outOfOrder.add(key)
  last.set(key, value?.version ?? 0)
})

// The admin tool keeps updating while the service runs: 20 rounds over every user, some deletes and comebacks.
for (let version = 2; version <= 21; version++) {
  const round = users.map((u, i): [string, Settings | null] =>
    (i + version) % 13 === 0
      ? [u, null]
      : [u, { theme: (i + version) % 2 ? 'dark' : 'light', fontSize: 8 + ((i + version) % 24), version }],
  )
  await write(round)
}

const current = () =>
  users.every((u) => (written.get(u) ? table.get(u)?.version === written.get(u)!.version : !table.has(u)))
const deadline = Date.now() + 30_000
while (!current() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
const matching = users.filter((u) =>
  written.get(u) ? table.get(u)?.version === written.get(u)!.version : !table.has(u),
).length
const inOrder = users.length - outOfOrder.size
console.log(
  `after 20 rounds of updates: ${changes} changes heard, ${inOrder}/${users.length} users' changes in order, ${matching}/${users.length} users match the last write`,
)
await client.close()
process.exitCode =
  loaded.length === users.length && matching === users.length && inOrder === users.length && skipped.length === 1
    ? 0
    : 1
