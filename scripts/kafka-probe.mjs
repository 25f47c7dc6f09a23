#!/usr/bin/env node
// @ts-check
// Dependency-free Kafka readiness probe. Sends a Metadata v4 request (a version
// both Kafka 3.x and 4.x serve) asking for no topics, and checks the broker
// lists itself and its peers.
//
// Why hand-written wire protocol and not kafkajs's admin client (read before
// porting it): a readiness probe must ask one named node and only that node,
// once per attempt, within a fixed time. kafkajs's admin sends Metadata to a
// random connected broker (brokerPool.findConnectedBroker shuffles) and
// CreateTopics to the controller, and retries and reconnects on its own, so
// "node 3 sees the canary topic" cannot be asked through it. The canary also
// detects the very state in which kafkajs's createTopics({ waitForLeaders })
// fails. It may run before `npm ci` (kafka-start.sh works on a fresh clone),
// so it imports nothing but node:net, and stays plain JavaScript that node runs
// as is. It is typechecked (// @ts-check, JSDoc types) and linted through the
// scripts/ workspace (scripts/package.json).
//
// usage: node kafka-probe.mjs [--wait SECONDS] [--brokers N] [--pid PID] [--canary] [--quiet] HOST:PORT...
//   --wait SECONDS  keep retrying until every address answers or time runs out
//                   (default 0: a single attempt)
//   --brokers N     also require that each answer lists at least N brokers
//   --pid PID       give up at once if that process (the broker) exits
//   --canary        also create a throwaway topic, wait until the broker's
//                   metadata shows it with a leader, then delete it. A broker
//                   restarted on a data dir with many partitions answers
//                   Metadata seconds before it has applied its metadata
//                   backlog; until then new topics look missing
//                   (UNKNOWN_TOPIC_OR_PARTITION) and kafkajs'
//                   createTopics({ waitForLeaders: true }) can fail.
//   exit 0 when every address answered; 1 otherwise (last error on stderr)
import net from 'node:net'

const args = process.argv.slice(2)
let waitSeconds = 0
let minBrokers = 1
let quiet = false
let canary = false
/** @type {number[]} */
const pids = []
/** @type {string[]} */
const addresses = []
for (let i = 0; i < args.length; i++) {
  const a = args[i] ?? ''
  if (a === '--wait') waitSeconds = Number(args[++i])
  else if (a === '--brokers') minBrokers = Number(args[++i])
  else if (a === '--quiet') quiet = true
  else if (a === '--canary') canary = true
  else if (a === '--pid') pids.push(Number(args[++i]))
  else addresses.push(a)
}
if (addresses.length === 0 || !Number.isFinite(waitSeconds) || !Number.isFinite(minBrokers)) {
  console.error('usage: kafka-probe.mjs [--wait SECONDS] [--brokers N] [--pid PID] [--canary] [--quiet] HOST:PORT...')
  process.exit(2)
}

const METADATA = 3 // v4
const CREATE_TOPICS = 19 // v2
const DELETE_TOPICS = 20 // v1
const CLIENT_ID = 'keyed-probe'

// Minimal writer/reader for the non-flexible (pre-KIP-482) encodings used here.
class Writer {
  /** @type {Buffer[]} */
  parts = []
  /** @param {number} v */
  int8(v) {
    const b = Buffer.alloc(1)
    b.writeInt8(v)
    this.parts.push(b)
    return this
  }
  /** @param {number} v */
  int16(v) {
    const b = Buffer.alloc(2)
    b.writeInt16BE(v)
    this.parts.push(b)
    return this
  }
  /** @param {number} v */
  int32(v) {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }
  /** @param {string} v */
  string(v) {
    const s = Buffer.from(v)
    this.int16(s.length)
    this.parts.push(s)
    return this
  }
  /** @template T @param {T[]} items @param {(w: Writer, item: T) => unknown} write */
  array(items, write) {
    this.int32(items.length)
    for (const it of items) write(this, it)
    return this
  }
  buffer() {
    return Buffer.concat(this.parts)
  }
}

class Reader {
  /** @param {Buffer} buf */
  constructor(buf) {
    this.buf = buf
    this.o = 0
  }
  int8() {
    const v = this.buf.readInt8(this.o)
    this.o += 1
    return v
  }
  int16() {
    const v = this.buf.readInt16BE(this.o)
    this.o += 2
    return v
  }
  int32() {
    const v = this.buf.readInt32BE(this.o)
    this.o += 4
    return v
  }
  string() {
    const n = this.int16()
    if (n < 0) return null
    const v = this.buf.toString('utf8', this.o, this.o + n)
    this.o += n
    return v
  }
  /** @template T @param {(r: Reader) => T} read @returns {T[]} */
  array(read) {
    /** @type {T[]} */ const out = []
    for (let n = this.int32(); n > 0; n--) out.push(read(this))
    return out
  }
}

/**
 * One request/response on a fresh connection (request header v1, response header v0).
 * @param {string} address HOST:PORT
 * @param {number} apiKey
 * @param {number} apiVersion
 * @param {(w: Writer) => unknown} writeBody
 * @returns {Promise<Reader>} positioned after the correlation id
 */
function call(address, apiKey, apiVersion, writeBody, timeoutMs = 2000) {
  const idx = address.lastIndexOf(':')
  const host = address.slice(0, idx)
  const port = Number(address.slice(idx + 1))
  const correlationId = (Math.random() * 0x7fffffff) | 0
  const w = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(CLIENT_ID)
  writeBody(w)
  const body = w.buffer()
  const frame = Buffer.concat([new Writer().int32(body.length).buffer(), body])
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    let data = Buffer.alloc(0)
    let settled = false
    /** @param {Error | null} err @param {Reader} [value] */
    const done = (err, value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else if (value) resolve(value)
    }
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    socket.on('connect', () => socket.write(frame))
    socket.on('error', (err) => done(err))
    socket.on('close', () => done(new Error('connection closed before a full answer')))
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return
      const r = new Reader(data.subarray(4, 4 + data.readInt32BE(0)))
      if (r.int32() !== correlationId) done(new Error('correlation id mismatch'))
      else done(null, r)
    })
  })
}

/** @param {string} address @param {string[]} topics */
async function metadata(address, topics) {
  const r = await call(address, METADATA, 4, (w) => w.array(topics, (w2, t) => w2.string(t)).int8(0))
  r.int32() // throttle_time_ms
  const brokers = r.array((x) => {
    const nodeId = x.int32()
    const host = x.string()
    const port = x.int32()
    x.string() // rack
    return `${nodeId}@${host}:${port}`
  })
  const clusterId = r.string()
  r.int32() // controller_id
  const topicInfo = r.array((x) => {
    const errorCode = x.int16()
    const name = x.string()
    x.int8() // is_internal
    const partitions = x.array((y) => {
      const p = { errorCode: y.int16(), partition: y.int32(), leader: y.int32() }
      y.array((z) => z.int32()) // replica_nodes
      y.array((z) => z.int32()) // isr_nodes
      return p
    })
    return { errorCode, name, partitions }
  })
  return { brokers, clusterId, topics: topicInfo }
}

/** @param {string} address @param {string} name */
async function createTopic(address, name) {
  const r = await call(
    address,
    CREATE_TOPICS,
    2,
    (w) =>
      w
        .array([name], (w2, t) => w2.string(t).int32(1).int16(1).int32(0).int32(0))
        .int32(10000)
        .int8(0),
    10000 + 2000,
  )
  r.int32() // throttle_time_ms
  const [res] = r.array((x) => ({ name: x.string(), errorCode: x.int16(), message: x.string() }))
  // 36 = TOPIC_ALREADY_EXISTS: a retry after a lost answer.
  if (!res) throw new Error('canary CreateTopics answered no topic')
  if (res.errorCode !== 0 && res.errorCode !== 36) {
    throw new Error(`canary CreateTopics error ${res.errorCode} ${res.message ?? ''}`)
  }
}

/** @param {string} address @param {string} name */
async function deleteTopic(address, name) {
  await call(address, DELETE_TOPICS, 1, (w) => w.array([name], (w2, t) => w2.string(t)).int32(10000), 12000)
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM'
  }
}

/** @param {string} address */
async function probeOnce(address) {
  const md = await metadata(address, [])
  if (md.brokers.length < minBrokers) {
    throw new Error(`lists ${md.brokers.length} broker(s), want ${minBrokers}: ${md.brokers.join(' ')}`)
  }
  return md
}

/** @param {string} address @param {number} deadline epoch ms */
async function canaryCheck(address, deadline) {
  const name = `keyed-probe-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  await createTopic(address, name)
  try {
    for (;;) {
      const md = await metadata(address, [name])
      const t = md.topics[0]
      if (
        t &&
        t.errorCode === 0 &&
        t.partitions.length > 0 &&
        t.partitions.every((p) => p.errorCode === 0 && p.leader >= 0)
      )
        return
      if (Date.now() >= deadline)
        throw new Error(`canary topic ${name} not visible with a leader yet (error ${t?.errorCode})`)
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await deleteTopic(address, name).catch(() => {})
  }
}

const deadline = Date.now() + waitSeconds * 1000
const pending = new Set(addresses)
let lastError = new Error('not tried')
for (;;) {
  for (const address of [...pending]) {
    try {
      const md = await probeOnce(address)
      if (canary) await canaryCheck(address, Math.max(deadline, Date.now() + 2000))
      pending.delete(address)
      if (!quiet) {
        console.log(`${address} ok: cluster ${md.clusterId}, brokers ${md.brokers.join(' ')}`)
      }
    } catch (err) {
      lastError = new Error(`${address}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (pending.size === 0) process.exit(0)
  if (Date.now() >= deadline) break
  const dead = pids.filter((pid) => !alive(pid))
  if (dead.length > 0) {
    lastError = new Error(`${lastError.message} (process ${dead.join(', ')} exited)`)
    break
  }
  await new Promise((r) => setTimeout(r, 250))
}
console.error(`kafka-probe: ${lastError.message}`)
process.exit(1)
