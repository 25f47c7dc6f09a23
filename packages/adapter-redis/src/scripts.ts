import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Cluster } from 'ioredis'
import type { Connection } from './connection.js'
import { replyCode } from './errors.js'

/**
 * keyed's Lua scripts, one file each in ./lua (KEYS, ARGV and the reply are documented in its header), with typed keys,
 * arguments and a checked reply. Each touches the keys of one partition (one hash tag) or of one group, so each runs
 * on one Cluster slot. The build copies ./lua next to the compiled files.
 */

type Arg = string | number | Buffer

/** A Lua script run by SHA, loaded again after NOSCRIPT (a restarted server has an empty script cache). */
export class Script<K extends readonly string[], A extends readonly Arg[], R> {
  private readonly source: string
  private readonly sha: string
  constructor(
    readonly name: string,
    private readonly decode: (reply: unknown, script: string) => R,
  ) {
    this.source = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')
    this.sha = createHash('sha1').update(this.source).digest('hex')
  }

  async run(conn: Connection, keys: K, args: A): Promise<R> {
    let reply: unknown
    try {
      reply = await conn.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (replyCode(error) !== 'NOSCRIPT') throw error
      reply = await conn.eval(this.source, keys.length, ...keys, ...args)
    }
    return this.decode(reply, this.name)
  }

  /**
   * Runs the script once per call, then WAIT for `replicas` replicas, in one pipeline: the calls' keys must all be
   * on one node (one server, or one cluster primary), where the keyless WAIT then goes too, on the same connection,
   * so it counts the replicas that have every write before it. Resolves with the replies and the fewest replicas any
   * WAIT counted. ioredis does not follow a redirection for a pipeline holding a write that succeeded, so a call
   * redirected or refused during a failover (MOVED, ASK, TRYAGAIN, CLUSTERDOWN: it did not run) or lost with its
   * node's connection (it may have run: at-least-once) goes again, alone with a WAIT, after a slots refresh, until
   * `retryUntil` (epoch ms). A NOSCRIPT call goes again as EVAL.
   */
  async runAllThenWait(
    conn: Connection,
    calls: ReadonlyArray<{ readonly keys: K; readonly args: A }>,
    replicas: number,
    timeoutMs: number,
    retryUntil: number,
  ): Promise<{ replies: R[]; acked: number }> {
    const replies: R[] = new Array(calls.length)
    const asEval = new Set<number>()
    let todo = calls.map((_, i) => i)
    let acked = Infinity
    for (;;) {
      const pipe = conn.pipeline()
      for (const i of todo) {
        const { keys, args } = calls[i]!
        if (asEval.has(i)) pipe.eval(this.source, keys.length, ...keys, ...args)
        else pipe.evalsha(this.sha, keys.length, ...keys, ...args)
      }
      pipe.call('WAIT', replicas, timeoutMs)
      const results = (await pipe.exec()) ?? []
      const again: number[] = []
      let redirected = false
      let ran = false
      for (const [n, i] of todo.entries()) {
        const [error, reply] = results[n] ?? [new Error('no reply'), undefined]
        if (!error) {
          replies[i] = this.decode(reply, this.name)
          ran = true
        } else if (!asEval.has(i) && replyCode(error) === 'NOSCRIPT') {
          asEval.add(i)
          again.push(i)
        } else if (conn instanceof Cluster && passing(error) && Date.now() < retryUntil) {
          redirected = true
          again.push(i)
        } else throw error
      }
      if (ran) {
        const [waitError, count] = results[todo.length] ?? [new Error('no WAIT reply'), undefined]
        if (waitError) throw waitError
        acked = Math.min(acked, integer(count, 'WAIT'))
      }
      if (again.length === 0) return { replies, acked }
      todo = again
      if (redirected && conn instanceof Cluster) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        await new Promise((resolve) => conn.refreshSlotsCache(() => resolve(undefined)))
      }
    }
  }
}

const passing = (error: Error) => REDIRECTED.has(replyCode(error) ?? '') || error.message === 'Connection is closed.'

/** Cluster replies after which the same command may succeed once the client knows the new topology. */
const REDIRECTED = new Set(['MOVED', 'ASK', 'TRYAGAIN', 'CLUSTERDOWN'])

/** A reply that is not what the script returns: a server that is not Redis 7, or a script of another version. */
export class ScriptReplyError extends Error {
  constructor(script: string, expected: string, reply: unknown) {
    super(`the ${script} script replied ${JSON.stringify(reply)?.slice(0, 80) ?? typeof reply}, not ${expected}`)
    this.name = 'ScriptReplyError'
  }
}

function integer(reply: unknown, script: string): number {
  if (typeof reply !== 'number' || !Number.isInteger(reply)) throw new ScriptReplyError(script, 'an integer', reply)
  return reply
}

function strings(reply: unknown, script: string): string[] {
  if (!Array.isArray(reply) || !reply.every((x) => typeof x === 'string'))
    throw new ScriptReplyError(script, 'a list of strings', reply)
  return reply as string[]
}

const flag = (reply: unknown, script: string): boolean => integer(reply, script) === 1

/** One partition's records, packed (records.ts appendPayload), the send's sequence, and how long it is remembered. */
export type AppendArgs = [records: Buffer, sequence: string, sentTtlMs: number]

export type AppendKeys = [stream: string, sent: string] | [stream: string, sent: string, index: string, dirty: string]

export const append = new Script<AppendKeys, AppendArgs, string[]>('append', strings)

export const acquire = new Script<
  [lease: string, epoch: string],
  [member: string, leaseMs: number],
  string | undefined
>('acquire', (reply, script) => {
  if (reply === null) return undefined
  if (typeof reply !== 'string') throw new ScriptReplyError(script, 'a token or nil', reply)
  return reply
})

/** True while the token still holds the lease (now renewed). */
export const renew = new Script<[lease: string], [token: string, leaseMs: number], boolean>('renew', flag)

export const release = new Script<[lease: string], [token: string], boolean>('release', flag)

export type CommitReply = { readonly fenced: true } | { readonly fenced: false; readonly acknowledged: number }

export const commit = new Script<
  [stream: string, lease: string],
  [token: string, group: string, ...ids: string[]],
  CommitReply
>('commit', (reply, script) => {
  const n = integer(reply, script)
  return n < 0 ? { fenced: true } : { fenced: false, acknowledged: n }
})

/** 1: moved; -1: the token lost the lease; -2: an admin reset found the lease held. */
export const seek = new Script<
  [stream: string, lease: string],
  [token: string, group: string, lastRead: string],
  number
>('seek', integer)

/** Keys: one member set per subscribed topic. Reply: the live members of each, in key order. */
export const heartbeat = new Script<string[], [member: string, sessionMs: number, leave: '0' | '1'], string[][]>(
  'heartbeat',
  (reply, script) => {
    if (!Array.isArray(reply)) throw new ScriptReplyError(script, 'a list per member set', reply)
    return reply.map((set) => strings(set, script))
  },
)

export interface CompactReply {
  readonly last: string
  readonly scanned: number
  readonly heldBack: number
  readonly deleted: number
}

export const compact = new Script<
  [stream: string, index: string],
  [after: string, count: number, minCompactionLagMs: number, deleteRetentionMs: number],
  CompactReply
>('compact', (reply, script) => {
  if (!Array.isArray(reply) || reply.length !== 4 || typeof reply[0] !== 'string')
    throw new ScriptReplyError(script, '{ last, scanned, held, deleted }', reply)
  return {
    last: reply[0],
    scanned: integer(reply[1], script),
    heldBack: integer(reply[2], script),
    deleted: integer(reply[3], script),
  }
})

/** Reply: entries trimmed. -1 turns a retention off. */
export const retain = new Script<[stream: string], [retentionMs: number, retentionBytes: number], number>(
  'retain',
  integer,
)

/** Reply: true when this call created the topic, false when it existed. */
export const createTopic = new Script<[topic: string], string[], boolean>('create-topic', flag)
