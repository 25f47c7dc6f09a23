import type { Backend } from '../backend/contract.js'
import { createClient, type Client, type ClientOptions } from '../client.js'
import type { ConsumerOptions, Message } from '../consumer.js'
import type { AnyTopic } from '../topic.js'
import { sleep, waitFor } from './wait.js'

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

let seq = 0
/** Topic and group names unique to one run, so suites can share a server. */
export function unique(prefix: string): string {
  return `keyed-${prefix}-${Date.now().toString(36)}-${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`
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
  private async read<T extends AnyTopic>(
    topic: T,
    what: string,
    done: (m: Message<T>) => boolean,
    lingerMs = 0,
  ): Promise<Message<T>[]> {
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
