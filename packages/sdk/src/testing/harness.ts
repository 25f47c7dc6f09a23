import type { Backend } from '../backend/contract.js'
import { createClient, type Client, type ClientOptions } from '../client.js'
import type { ConsumerOptions, Message } from '../consumer.js'
import type { AnyTopic } from '../topic.js'

export interface ConformanceOptions {
  /** Shown in test names. */
  name: string
  /** A backend for one client; called once per client a test makes. Clients of one test must see the same data. */
  backend: () => Backend | Promise<Backend>
  /** Extra topic config for the compaction and retention tests (Kafka: segment.ms and friends). */
  compactionConfig?: Record<string, string>
  /** Longest wait for records, rebalances or the cleaner, in ms. Default 15000. */
  timeoutMs?: number
  /** Consumer settings that make groups settle fast on this backend. */
  consumer?: Partial<Pick<ConsumerOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBatchSize'>>
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let seq = 0
/** Topic and group names unique to one run, so suites can share a server. */
export function unique(prefix: string): string {
  return `keyed-${prefix}-${Date.now().toString(36)}-${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`
}

export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

/** Clients made during one test, closed after it. */
export class Harness {
  private clients: Client[] = []
  constructor(readonly options: ConformanceOptions) {}

  get timeoutMs(): number {
    return this.options.timeoutMs ?? 15000
  }

  async client(extra: Omit<ClientOptions, 'backend'> = {}): Promise<Client> {
    const client = createClient({ ...extra, backend: await this.options.backend() })
    this.clients.push(client)
    return client
  }

  consumerOptions(groupId: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
    return { ...this.options.consumer, ...extra, groupId }
  }

  async closeAll(): Promise<void> {
    const clients = this.clients
    this.clients = []
    await Promise.allSettled(clients.map((c) => c.close()))
  }

  /** Every record of a topic from the beginning, read by a fresh group until each partition's last known offset was seen. */
  readAll<T extends AnyTopic>(topic: T, until: ReadonlyMap<number, string>): Promise<Message<T>[]> {
    const reached = new Set<number>()
    return this.read(topic, `reading ${topic.name} to its end`, (m) => {
      if (until.get(m.partition) === m.offset) reached.add(m.partition)
      return reached.size === until.size
    })
  }

  /** The first `count` records of a topic whose offsets the test does not know, and any that follow within 100 ms. */
  async readCount<T extends AnyTopic>(topic: T, count: number): Promise<Message<T>[]> {
    let seen = 0
    return this.read(topic, `${count} records on ${topic.name}`, () => ++seen >= count, 100)
  }

  /** Reads from the beginning with a fresh group until `done` says so after a record; then lingers `lingerMs` for extras. */
  private async read<T extends AnyTopic>(topic: T, what: string, done: (m: Message<T>) => boolean, lingerMs = 0): Promise<Message<T>[]> {
    const client = await this.client()
    const seen: Message<T>[] = []
    let finished = false
    try {
      await client.consumer(this.consumerOptions(unique('reader'))).subscribe(
        topic,
        (m) => {
          seen.push(m)
          if (done(m)) finished = true
        },
        { fromBeginning: true },
      )
      await waitFor(what, this.timeoutMs, () => finished)
      if (lingerMs) await sleep(lingerMs)
    } finally {
      await client.close()
      this.clients = this.clients.filter((c) => c !== client)
    }
    return seen
  }
}

export interface Handled {
  readonly member: string
  readonly key: string
  readonly seq: number
  readonly partition: number
}

/**
 * Per-key order under at-least-once: a record first seen must be the next of its key; a redelivery may replay
 * earlier records (from the last commit) but never skip ahead. Returns the violations.
 */
export function orderViolations(events: readonly Handled[]): string[] {
  const highest = new Map<string, number>()
  const problems: string[] = []
  for (const e of events) {
    const top = highest.get(e.key) ?? -1
    if (e.seq > top + 1) problems.push(`key ${e.key}: seq ${e.seq} handled before seq ${top + 1}`)
    if (e.seq > top) highest.set(e.key, e.seq)
  }
  return problems
}

export function missing(events: readonly Handled[], keys: readonly string[], perKey: number): string[] {
  const seen = new Set(events.map((e) => `${e.key}#${e.seq}`))
  const out: string[] = []
  for (const k of keys) for (let s = 0; s < perKey; s++) if (!seen.has(`${k}#${s}`)) out.push(`${k}#${s}`)
  return out
}
