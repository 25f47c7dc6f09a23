import { randomBytes } from 'node:crypto'
import type { BackendProducer, OutgoingRecord, ProducerSettings, RecordMetadata } from '@keyed/sdk/backend'
import { ClosedError, partitionSpread, SendAbortedError, TimeoutError } from '@keyed/sdk/backend'
import { toKeyedError } from './errors.js'
import { Outcome, Ready } from './outcome.js'
import type { RedisContext } from './context.js'
import { appendPayload } from './records.js'
import { append, ScriptReplyError, type AppendArgs, type AppendKeys } from './scripts.js'
import { keySlot } from './slots.js'
import { Cluster } from 'ioredis'
import { isCompacted, type TopicMeta } from './topics.js'
import { ReplicaWait, type WaitTarget } from './replicas.js'
import type { Connection } from './connection.js'

/**
 * How long a producer's last append to a partition is remembered: ioredis resends a command a lost connection left
 * unanswered once it reconnects, and a resend within this finds it applied. Past it a resend would append again.
 */
const SENT_TTL_MS = 15 * 60_000

/** One partition's APPEND script of a send: its records' indexes in the send, its keys and arguments. */
interface Append {
  readonly indexes: number[]
  readonly first: OutgoingRecord
  readonly keys: AppendKeys
  readonly args: AppendArgs
}

/** What a send needs before it writes: each partition's script, the WAIT target and the connection. */
interface Prepared {
  readonly calls: Append[]
  readonly wait: WaitTarget
  readonly conn: Connection
}

export class RedisProducer implements BackendProducer {
  private closed = false
  /** Names this producer's sent keys; with `sequence`, what makes a resent append recognizable (append.lua). */
  private readonly id = randomBytes(9).toString('base64url')
  private sequence = 0
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Each unsettled send's outcome by the promise send() or sendAfter() returned, for the send staged behind it. */
  private readonly outcomes = new WeakMap<Promise<unknown>, Outcome<RecordMetadata[]>>()
  /** The metadata of the topics sent to (a topic's settings never change once created). */
  private readonly metas = new Map<string, TopicMeta>()
  /** The WAIT target and connection of the last send, while the connection is not refused. */
  private target: { readonly wait: WaitTarget; readonly conn: Connection } | undefined
  /** acks 'all': each append waits for redis({ replicas }) or what the server has (replicas.ts); others do not WAIT. */
  private readonly waiting: ReplicaWait
  constructor(
    private readonly context: Pick<
      RedisContext,
      'options' | 'keys' | 'connection' | 'refusal' | 'guard' | 'dedicated' | 'topicMeta'
    >,
    private readonly settings: Pick<ProducerSettings, 'acks'>,
  ) {
    this.waiting = new ReplicaWait(context, 'keyed-producer', settings.acks === 'all')
  }

  /** One APPEND script per partition: a partition's records land together or not at all; partitions go out pipelined. */
  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    const outcome = this.begin()
    this.write(records, this.prepare(records), outcome)
    return outcome.promise
  }

  /**
   * send() for the request behind the one in flight: its scripts' arguments are built now, while `previous` is at the
   * server, and nothing is written before `previous` succeeded; if it failed, this rejects having written nothing.
   * When `previous` is this producer's, this is written the moment its replies are in (before its callers are answered).
   */
  sendAfter(records: readonly OutgoingRecord[], previous: Promise<unknown>): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClosedError('producer'))
    const outcome = this.begin()
    const prepared = this.prepare(records)
    const go = (failure?: { readonly error: unknown }) => {
      if (failure) outcome.fail(new SendAbortedError(failure.error))
      else this.write(records, prepared, outcome)
    }
    const before = this.outcomes.get(previous)
    if (before) before.whenSettled(go)
    else
      previous.then(
        () => go(),
        (error: unknown) => go({ error }),
      )
    return outcome.promise
  }

  private begin(): Outcome<RecordMetadata[]> {
    const outcome = new Outcome<RecordMetadata[]>()
    const { promise } = outcome
    this.outcomes.set(promise, outcome)
    this.inFlight.add(promise)
    outcome.onCleanup(() => this.inFlight.delete(promise))
    return outcome
  }

  /** Writes the send's scripts once prepared (at once if they are), bounded by sendTimeoutMs from now. */
  private write(records: readonly OutgoingRecord[], prepared: Ready<Prepared>, outcome: Outcome<RecordMetadata[]>) {
    if (this.closed) return outcome.fail(new ClosedError('producer'))
    // Commands wait through reconnects (a restart should not fail sends), but not forever.
    const { sendTimeoutMs, server } = this.context.options
    outcome.deadline(
      sendTimeoutMs,
      () =>
        new TimeoutError(
          `A send of ${records.length} record(s) to ${server.display}`,
          sendTimeoutMs,
          'The server did not answer (down, restarting or frozen). The records may still be appended when it comes back: ' +
            'sending again is at-least-once. Raise redis({ sendTimeoutMs }) to wait longer through outages.',
        ),
    )
    // The action is worded only when it failed: partitionSpread looks at every record.
    const failed = (error: unknown) =>
      outcome.fail(toKeyedError(error, `append ${records.length} record(s)${partitionSpread(records)}`, server))
    prepared.then((p) => {
      try {
        this.append(records, p, outcome, failed)
      } catch (error) {
        failed(error)
      }
    }, failed)
  }

  /**
   * Each partition's APPEND script with its keys and arguments, the WAIT target and the connection; nothing written.
   * At once when the topics' metadata and the connection are known, so a send is written in the turn it is made.
   */
  private prepare(records: readonly OutgoingRecord[]): Ready<Prepared> {
    // The indexes of each partition's records, by topic then partition (no key string made per record).
    const byTopic = new Map<string, number[][]>()
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      let partitions = byTopic.get(r.topic)
      if (!partitions) byTopic.set(r.topic, (partitions = []))
      ;(partitions[r.partition] ??= []).push(i)
    }
    const groups: number[][] = []
    for (const partitions of byTopic.values()) for (const indexes of partitions) if (indexes) groups.push(indexes)
    const known = this.target && !this.context.refusal(this.target.conn) ? this.target : undefined
    if (known && [...byTopic.keys()].every((topic) => this.metas.has(topic))) {
      try {
        return Ready.of({ calls: groups.map((indexes) => this.script(records, indexes)), ...known })
      } catch (error) {
        return Ready.later(Promise.reject(error as Error)) // the send fails, as a send that prepares later would
      }
    }
    return Ready.later(
      (async () => {
        for (const topic of byTopic.keys()) this.metas.set(topic, await this.context.topicMeta(topic))
        const wait = await this.waiting.target()
        this.target = { wait, conn: wait.conn ?? (await this.context.connection()) }
        return { calls: groups.map((indexes) => this.script(records, indexes)), ...this.target }
      })(),
    )
  }

  /** The APPEND script of one partition's records (`indexes` into `records`), its topic's metadata known. */
  private script(records: readonly OutgoingRecord[], indexes: number[]): Append {
    const { keys } = this.context
    const first = records[indexes[0]!]!
    const stream = keys.stream(first.topic, first.partition)
    // The sequence is given when the scripts are written (appendOn()), not here: a staged request is prepared early.
    const args: AppendArgs = [appendPayload(records, indexes), '', SENT_TTL_MS]
    const sent = keys.sent(first.topic, first.partition, this.id)
    const scriptKeys: AppendKeys = isCompacted(this.metas.get(first.topic)!)
      ? [stream, sent, keys.index(first.topic, first.partition), keys.dirty(first.topic, first.partition)]
      : [stream, sent]
    return { indexes, first, keys: scriptKeys, args }
  }

  private append(
    records: readonly OutgoingRecord[],
    { calls, wait, conn }: Prepared,
    outcome: Outcome<RecordMetadata[]>,
    failed: (error: unknown) => void,
  ): void {
    // A connection dropped when a reconnect's credentials were refused fails the send with that, at once, writing
    // nothing; one dropped while the scripts are out fails it too (guard: a written script is never answered then).
    const refused = this.context.refusal(conn)
    if (refused) return failed(refused)
    this.context
      .guard(conn, this.appendOn(conn, wait, Date.now(), records, calls))
      .then((out) => outcome.succeed(out), failed)
  }

  private async appendOn(
    conn: Connection,
    wait: WaitTarget,
    started: number,
    records: readonly OutgoingRecord[],
    calls: Append[],
  ): Promise<RecordMetadata[]> {
    // One number per send, taken with no await between it and writing the scripts, so numbers increase in the order
    // the sends reach the connection (append.lua refuses one lower than a later one applied to its partition). Every
    // partition's script of the send carries it, and the same again when ioredis or runAllThenWait resends it.
    const sequence = String(++this.sequence)
    for (const call of calls) call.args[1] = sequence
    const out: RecordMetadata[] = new Array(records.length)
    const place = (call: Append, ids: string[]) => {
      if (ids.length !== call.indexes.length) throw new ScriptReplyError(append.name, `${call.indexes.length} ids`, ids)
      call.indexes.forEach((i, n) => {
        const r = records[i]!
        out[i] = { topic: r.topic, partition: r.partition, offset: ids[n]!, timestamp: r.timestamp }
      })
    }
    if (wait.replicas === 0) {
      await Promise.all(calls.map(async (call) => place(call, await append.run(conn, call.keys, call.args))))
      return out
    }
    // One pipeline and one WAIT per node: the partitions' scripts, then WAIT, which counts every write before it.
    const { replicaTimeoutMs, sendTimeoutMs, server } = this.context.options
    const byNode = new Map<string, Append[]>()
    for (const call of calls) {
      const node =
        conn instanceof Cluster ? (conn.slots[keySlot(call.keys[0])]?.[0] ?? `slot ${keySlot(call.keys[0])}`) : 'server'
      byNode.set(node, [...(byNode.get(node) ?? []), call])
    }
    await Promise.all(
      [...byNode.values()].map(async (nodeCalls) => {
        const { replies, acked } = await append.runAllThenWait(
          conn,
          nodeCalls,
          wait.replicas,
          replicaTimeoutMs,
          started + sendTimeoutMs,
        )
        if (acked < wait.replicas)
          throw replicasTimeout(
            nodeCalls.map((c) => c.first),
            acked,
            wait.replicas,
            replicaTimeoutMs,
            server.display,
          )
        nodeCalls.forEach((call, n) => place(call, replies[n]!))
      }),
    )
    return out
  }

  /** Waits for the sends in flight, each bounded by sendTimeoutMs. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.allSettled(this.inFlight)
    await this.waiting.close()
  }
}

function replicasTimeout(
  partitions: ReadonlyArray<{ topic: string; partition: number }>,
  acked: number,
  wanted: number,
  ms: number,
  display: string,
): TimeoutError {
  const which = partitions.map((p) => `partition ${p.partition} of '${p.topic}'`).join(', ')
  return new TimeoutError(
    `acks 'all': the append to ${which} on ${display} reached ${acked} of ${wanted} replica(s) and`,
    ms,
    'The records are on the primary but may be lost if it fails before a replica has them (Redis replicates asynchronously); sending again is ' +
      'at-least-once. A replica is down, lagging or resyncing: start it, raise redis({ replicaTimeoutMs }), or lower redis({ replicas }).',
  )
}
