import type { IncomingRecord } from '@keyed/sdk/backend'
import type { Consumer, ConnectionPool } from '@platformatic/kafka'
import { recordsOf } from './records.js'

/** A partition the loop reads: where it stands, and whether its last batch is still being handled. */
export interface Position {
  readonly topic: string
  readonly partition: number
  next: bigint
  busy: boolean
}

export interface FetchLoopSettings {
  readonly maxWaitTimeMs: number
  /** Most bytes per partition in one fetch (Kafka's max.partition.fetch.bytes). */
  readonly partitionMaxBytes: number
  /** Where a partition whose position is gone (retention) goes on: its first or its next offset. */
  readonly resetTo: (position: Position) => 'earliest' | 'latest'
}

const OFFSET_OUT_OF_RANGE = 1
const MAX_BYTES = 50 * 1024 * 1024
const SHORT_WAIT_MS = 5

/**
 * Fetches the partitions `positions()` lists that are not busy, by leader, and hands each partition's records to
 * `deliver`, which owns the position until it settles: like kafkajs's eachBatch, a partition is fetched again only
 * after its batch was handled, so what the loop reads is never ahead of what the group committed by more than a batch.
 * Its own fetch loop rather than @platformatic/kafka's MessagesStream: the stream pushes records of every partition
 * into one buffer, and records fetched before a rebalance would still come out of it after.
 */
export class FetchLoop {
  private stopped = false
  private wakeUp: (() => void) | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly consumer: Consumer,
    /**
     * Fetches go over connections of their own: a broker answers one request per connection at a time, so a fetch
     * waiting up to maxWaitTimeMs for records would hold up the commits and heartbeats behind it (86 ms per commit,
     * measured, on one broker).
     */
    private readonly pool: ConnectionPool,
    private readonly positions: () => Iterable<Position>,
    private readonly deliver: (position: Position, records: IncomingRecord[], next: bigint) => Promise<void>,
    private readonly settings: FetchLoopSettings,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.running ??= this.run()
  }

  /** Something changed (a batch settled, an assignment arrived): fetch now rather than after the current wait. */
  wake(): void {
    this.wakeUp?.()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.wake()
    await this.running
    await this.pool.close().catch(() => undefined)
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => (this.wakeUp = resolve))
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopped) {
      const all = [...this.positions()]
      const ready = all.filter((p) => !p.busy)
      if (ready.length === 0) {
        await this.idle()
        continue
      }
      try {
        // While other partitions' batches are being handled, a fetch must not sit at the broker for maxWaitTimeMs
        // waiting for new records: those partitions are ready again long before, and would wait for it.
        await this.fetchOnce(ready, ready.length < all.length ? SHORT_WAIT_MS : this.settings.maxWaitTimeMs)
        failures = 0
      } catch (error) {
        if (this.stopped) break
        // The client already retried; a broker that stays away is reported, and the loop keeps trying.
        if (++failures === 3) this.onError(error)
        this.consumer.clearMetadata()
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** failures)))
      }
    }
  }

  private async fetchOnce(ready: Position[], maxWaitTime: number): Promise<void> {
    const topics = [...new Set(ready.map((p) => p.topic))]
    const metadata = await this.consumer.metadata({ topics })
    const byNode = new Map<number, Position[]>()
    for (const p of ready) {
      const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1
      if (leader < 0) continue
      let list = byNode.get(leader)
      if (!list) byNode.set(leader, (list = []))
      list.push(p)
    }
    if (byNode.size === 0) {
      this.consumer.clearMetadata()
      await new Promise((resolve) => setTimeout(resolve, 200))
      return
    }
    await Promise.all(
      [...byNode].map(async ([node, positions]) => {
        const ids = new Map<string, string>()
        const requested = new Map<string, Position>()
        const byTopic = new Map<string, Position[]>()
        for (const p of positions) {
          const id = metadata.topics.get(p.topic)!.id
          ids.set(id, p.topic)
          requested.set(`${p.topic}\u0000${p.partition}`, p)
          let list = byTopic.get(id)
          if (!list) byTopic.set(id, (list = []))
          list.push(p)
        }
        const starts = new Map(positions.map((p) => [p, p.next]))
        let response: FetchResponse
        try {
          response = await this.fetch(node, byTopic, maxWaitTime)
        } catch (error) {
          // The client reports a partition's error as the whole fetch's: a position retention removed is moved on
          // (found by looping the conformance suite: the time retention case stopped its reader), anything else rethrown.
          if (!(await this.resetOutOfRange(error, ids, requested))) throw error
          return
        }
        for (const topicAnswer of response.responses) {
          const topic = ids.get(topicAnswer.topicId)
          if (topic === undefined) continue
          for (const answer of topicAnswer.partitions) {
            const position = requested.get(`${topic}\u0000${answer.partitionIndex}`)
            // Moved meanwhile (a rebalance, a seek): this answer is for a position that no longer exists.
            if (!position || position.busy || position.next !== starts.get(position)) continue
            if (answer.errorCode !== 0) {
              // Leadership moved or the broker is catching up: ask for metadata again on the next round.
              this.consumer.clearMetadata()
              continue
            }
            const { records, next } = recordsOf(topic, answer.partitionIndex, answer, position.next)
            if (next === undefined) continue
            position.busy = true
            this.deliver(position, records, next)
              .catch(this.onError)
              .finally(() => {
                position.busy = false
                this.wake()
              })
          }
        }
      }),
    )
  }

  private fetch(node: number, byTopic: ReadonlyMap<string, Position[]>, maxWaitTime: number): Promise<FetchResponse> {
    return this.consumer.fetch({
      node,
      connectionPool: this.pool,
      maxWaitTime,
      maxBytes: MAX_BYTES,
      topics: [...byTopic].map(([topicId, list]) => ({
        topicId,
        partitions: list.map((p) => ({
          partition: p.partition,
          fetchOffset: p.next,
          partitionMaxBytes: this.settings.partitionMaxBytes,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        })),
      })),
    })
  }

  /** Moves each position the broker answered OFFSET_OUT_OF_RANGE for to where resetTo says; false when none was. */
  private async resetOutOfRange(
    error: unknown,
    ids: ReadonlyMap<string, string>,
    requested: ReadonlyMap<string, Position>,
  ): Promise<boolean> {
    const response = responseOf(error)
    if (!response) return false
    let reset = false
    for (const topicAnswer of response.responses) {
      const topic = ids.get(topicAnswer.topicId)
      if (topic === undefined) continue
      for (const answer of topicAnswer.partitions) {
        const position = requested.get(`${topic}\u0000${answer.partitionIndex}`)
        if (!position || answer.errorCode !== OFFSET_OUT_OF_RANGE) continue
        const earliest = this.settings.resetTo(position) === 'earliest'
        let offset = earliest ? answer.logStartOffset : answer.highWatermark
        if (offset < 0n) {
          const listed = await this.consumer.listOffsets({
            topics: [topic],
            partitions: { [topic]: [answer.partitionIndex] },
            timestamp: earliest ? -2n : -1n,
          })
          offset = listed.get(topic)?.[answer.partitionIndex] ?? -1n
        }
        if (offset < 0n) continue
        position.next = offset
        reset = true
      }
    }
    return reset
  }
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

/** The fetch answer a failed fetch carries (the client's ResponseError keeps it as `response`), anywhere in the error tree. */
function responseOf(error: unknown, depth = 0): FetchResponse | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined
  const e = error as { response?: { responses?: unknown }; errors?: unknown[]; cause?: unknown }
  if (e.response && Array.isArray(e.response.responses)) return e.response as FetchResponse
  for (const inner of e.errors ?? []) {
    const found = responseOf(inner, depth + 1)
    if (found) return found
  }
  return responseOf(e.cause, depth + 1)
}
