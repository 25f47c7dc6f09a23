import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type KeyedError } from '@keyed/sdk'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { Redis } from 'ioredis'
import { redis } from '../src/index.js'
import { privateServer, uniqueTopic, type PrivateServer } from './helpers.js'
import { replyDroppingProxy } from './proxy.js'
import { expectNoSecret } from './secrets.js'

const caught = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('redis({ url }) never repeats a password', () => {
  const SECRET = 'S3cr3tPw'
  const cases: Array<[string, string, RegExp]> = [
    ['a scheme in capitals', `Redis://:${SECRET}@127.0.0.1:6379`, /must start with redis:\/\//],
    ['one slash', `redis:/:${SECRET}@127.0.0.1:6379`, /must start with redis:\/\//],
    ['no slashes', `redis:${SECRET}@127.0.0.1`, /must start with redis:\/\//],
    ['another scheme', `http://user:${SECRET}@127.0.0.1`, /must start with redis:\/\//],
    ['a raw @ in the password', `redis://:${SECRET}@x@127.0.0.1:6379`, /'@' .* %40/],
    ['a raw / in the password', `redis://:ab/${SECRET}@127.0.0.1:6379`, /'\/' .* %2F/],
    ['a stray %', `redis://:%zz${SECRET}@127.0.0.1`, /%25/],
    ['no host', `redis://:${SECRET}@`, /not a valid URL|no host/],
    ['a port out of range', `redis://:${SECRET}@127.0.0.1:99999`, /not a valid URL/],
    ['a path that is no database', `redis://:${SECRET}@127.0.0.1/zero`, /database number/],
    ['a query', `redis://user:${SECRET}@127.0.0.1:6379?db=1`, /no query/],
  ]
  for (const [what, url, problem] of cases) {
    it(`refuses a URL with ${what} with a ConfigError that shows it redacted`, () => {
      const error = caught(() => redis({ url }))
      expect(isKeyedError(error, 'CONFIG')).toBe(true)
      expect((error as Error).message).toMatch(problem)
      expect((error as Error).message).toContain('***@')
      expectNoSecret(error, SECRET)
    })
  }

  it('hides a password given in the query (?password=…, as other clients accept), naming the parameter only', () => {
    for (const url of [
      `redis://127.0.0.1:6379?password=${SECRET}`,
      `redis://127.0.0.1:6379/0?db=1&password=${SECRET}#x`,
      `redis://127.0.0.1:6379?${SECRET}`,
    ]) {
      const error = caught(() => redis({ url }))
      expect(isKeyedError(error, 'CONFIG')).toBe(true)
      expect((error as Error).message).toMatch(/no query/)
      expectNoSecret(error, SECRET)
    }
    expect((caught(() => redis({ url: `redis://h:1?password=${SECRET}` })) as Error).message).toContain(
      `'redis://h:1?password=***'`,
    )
  })

  it('redacts both halves of a password split by a raw @', () => {
    const error = caught(() => redis({ url: 'redis://:FirstHalf@SecondHalf@127.0.0.1:6379' }))
    expect((error as Error).message).toContain(`'redis://:***@127.0.0.1:6379'`)
    expectNoSecret(error, 'FirstHalf', 'SecondHalf')
  })

  it('keeps a user name, which is not secret, and hides the password', () => {
    const error = caught(() => redis({ url: `Redis://alice:${SECRET}@127.0.0.1` }))
    expect((error as Error).message).toContain(`'Redis://alice:***@127.0.0.1'`)
  })
})

describe('a server that requires a password', () => {
  // Characters the URL syntax gives a meaning, percent-encoded in the URL.
  const PASSWORD = 'p@ss/w0rd:%?#Right'
  const WRONG = 'Wr0ng@Pass/word'
  let server: PrivateServer
  const url = (userinfo: string) => `redis://${userinfo}127.0.0.1:${server.port}`
  beforeAll(async () => {
    server = await privateServer(['--requirepass', PASSWORD])
  })
  afterAll(() => server.stop())

  it('works with a percent-encoded password holding @ / : % ? #', async () => {
    const client = createClient({ backend: redis({ url: url(`:${encodeURIComponent(PASSWORD)}@`), blockMs: 200 }) })
    try {
      const topic = defineTopic(uniqueTopic('auth-ok'), { partitions: 1 })
      const got: unknown[] = []
      await client
        .consumer({ groupId: 'g', sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 })
        .subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
      await client.producer().send(topic, { key: 'k', value: 'v' })
      await waitFor('the record', 5000, () => got.length === 1)
    } finally {
      await client.close()
    }
  })

  it('logs connection failures through the client logger as warnings holding no secret', async () => {
    const lines: unknown[] = []
    const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const client = createClient({
      backend: redis({ url: url(`alice:${encodeURIComponent(WRONG)}@`), connectTimeoutMs: 5000 }),
      logger,
    })
    try {
      await client
        .admin()
        .describeTopic('t')
        .catch(() => undefined)
      await waitFor('a logged warning', 5000, () => lines.length > 0)
      // Refused credentials are not tried again: the connection is closed, and the log says so.
      expect(lines[0]).toMatchObject({
        level: 'warn',
        msg: expect.stringMatching(/was refused the credentials; closed, not reconnecting/),
      })
      expect(JSON.stringify(lines[0])).toContain('alice:***@')
      for (const line of lines) expectNoSecret(line, WRONG, PASSWORD, 'Wr0ng', 'Pass/word')
    } finally {
      await client.close()
    }
  })

  for (const [what, userinfo, answer] of [
    ['a wrong password', () => `:${encodeURIComponent(WRONG)}@`, /WRONGPASS/],
    ['a wrong user and password', () => `nobody:${encodeURIComponent(WRONG)}@`, /WRONGPASS/],
    ['no password', () => '', /requires a password/],
  ] as const) {
    it(`fails a send, a subscribe and describeTopic at once with an AuthenticationError for ${what}, holding no secret`, async () => {
      const client = createClient({
        backend: redis({ url: url(userinfo()), connectTimeoutMs: 5000, sendTimeoutMs: 5000 }),
      })
      try {
        const topic = defineTopic(uniqueTopic('auth-bad'), { partitions: 1 })
        const started = Date.now()
        const errors = [
          await client
            .producer()
            .send(topic, { key: 'k', value: 'v' })
            .catch((e: unknown) => e),
          await client
            .consumer({ groupId: 'g' })
            .subscribe(topic, () => undefined)
            .catch((e: unknown) => e),
          await client
            .admin()
            .describeTopic(topic.name)
            .catch((e: unknown) => e),
        ]
        expect(Date.now() - started).toBeLessThan(3000)
        for (const error of errors) {
          expect(isKeyedError(error, 'AUTHENTICATION')).toBe(true)
          const { message, retriable } = error as Error & { retriable: boolean }
          expect(retriable).toBe(false)
          expect(message).toMatch(/refused the credentials/)
          expect(message).toMatch(answer)
          expect(message).not.toMatch(/cannot reach|start a server/i)
          expectNoSecret(error, WRONG, PASSWORD, 'Wr0ng', 'Pass/word')
        }
      } finally {
        await client.close()
      }
    })
  }
})

describe('a password changed on the server while a client is connected', () => {
  it('fails a send with AuthenticationError soon after a reconnect is refused, not a TimeoutError after sendTimeoutMs; it lands nothing later', async () => {
    const OLD = 'Old-pw-1'
    const NEW = 'New-pw-2'
    const server = await privateServer(['--requirepass', OLD])
    const client = createClient({
      backend: redis({ url: `redis://:${OLD}@127.0.0.1:${server.port}`, sendTimeoutMs: 8000 }),
    })
    const admin = new Redis({ port: server.port, password: OLD, lazyConnect: true, maxRetriesPerRequest: 1 })
    admin.on('error', () => undefined)
    try {
      const topic = defineTopic(uniqueTopic('auth-changed'), { partitions: 1 })
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 0 })
      await admin.connect()
      await admin.config('SET', 'requirepass', NEW)
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes') // every client reconnects, with the old password
      const started = Date.now()
      const check = (error: unknown) => {
        expect((error as Error & { code: string }).code).toBe('AUTHENTICATION')
        expect((error as Error & { retriable: boolean }).retriable).toBe(false)
        expect((error as Error).message).toMatch(/WRONGPASS/)
        expectNoSecret(error, OLD, NEW)
      }
      check(await producer.send(topic, { key: 'k', value: 1 }).catch((e: unknown) => e))
      // The next send, on a connection dialed anew, fails at once as well.
      check(await producer.send(topic, { key: 'k', value: 2 }).catch((e: unknown) => e))
      expect(Date.now() - started).toBeLessThan(4000)
      // The refused send does not land once the server takes the old password again.
      await admin.config('SET', 'requirepass', OLD)
      await sleep(1000)
      expect(await admin.xlen(`keyed:{${topic.name}:0}:log`)).toBe(1)
      // And the client works again.
      await producer.send(topic, { key: 'k', value: 3 })
      expect(await admin.xlen(`keyed:{${topic.name}:0}:log`)).toBe(2)
    } finally {
      admin.disconnect()
      await client.close()
      await server.stop()
    }
  }, 30_000)

  const OLD = 'Old-pw-1'
  const NEW = 'New-pw-2'

  interface LogLine {
    readonly level: string
    readonly obj: { readonly connection?: string }
    readonly msg?: string
  }

  /**
   * A private server whose password is OLD until change() sets NEW and closes connections (every client's, or those
   * whose name matches), as a password rotation with a connection dropped by the network, a proxy or CLIENT KILL does.
   */
  async function rotation() {
    const server = await privateServer(['--requirepass', OLD])
    const admin = new Redis({ port: server.port, password: OLD, maxRetriesPerRequest: 1 })
    admin.on('error', () => undefined)
    const logs: LogLine[] = []
    const at = (level: string) => (obj: object, msg?: string) => void logs.push({ level, obj, msg })
    return {
      server,
      admin,
      url: `redis://:${OLD}@127.0.0.1:${server.port}`,
      logs,
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
      /** Sets NEW; closes the connections named like `which` ('all': every client's but admin's); returns when. */
      async change(which: 'all' | 'none' | RegExp): Promise<number> {
        await admin.config('SET', 'requirepass', NEW)
        if (which === 'all') await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
        else if (which !== 'none') {
          const ids = String(await admin.client('LIST'))
            .split('\n')
            .filter((line) => which.test(/ name=(\S*)/.exec(line)?.[1] ?? ''))
            .map((line) => /^id=(\d+)/.exec(line)![1]!)
          expect(ids.length).toBeGreaterThan(0)
          for (const id of ids) await admin.client('KILL', 'ID', id)
        }
        return Date.now()
      },
      restore: () => admin.config('SET', 'requirepass', OLD),
      stop: async () => {
        admin.disconnect()
        await server.stop()
      },
    }
  }

  /** What a refused reconnect fails its user with: AuthenticationError, final, saying WRONGPASS, with no secret. */
  const checkRefused = (error: unknown) => {
    expect(isKeyedError(error, 'AUTHENTICATION'), String(error)).toBe(true)
    expect((error as KeyedError).retriable).toBe(false)
    expect((error as Error).message).toMatch(/refused the credentials.*WRONGPASS/)
    expectNoSecret(error, OLD, NEW)
  }

  /** The values a new member of the group gets once the password is back: at least `expected`. */
  async function redelivered(url: string, topicName: string, groupId: string, expected: readonly number[]) {
    const client = createClient({ backend: redis({ url, blockMs: 200 }) })
    try {
      const got: unknown[] = []
      await client
        .consumer({ groupId, sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 })
        .subscribe(defineTopic(topicName, { partitions: 1 }), (m) => void got.push(m.value), { fromBeginning: true })
      await waitFor(`${JSON.stringify(expected)} delivered again`, 10_000, () => expected.every((v) => got.includes(v)))
    } finally {
      await client.close()
    }
  }

  it("stops a group member with AuthenticationError when only its reader's reconnect is refused (its shared connection still signed in), rather than owning a partition it never reads again", async () => {
    const r = await rotation()
    const client = createClient({ backend: redis({ url: r.url, blockMs: 200, sendTimeoutMs: 8000 }), logger: r.logger })
    try {
      const topic = defineTopic(uniqueTopic('auth-reader'), { partitions: 1 })
      const got: unknown[] = []
      const errors: KeyedError[] = []
      const consumer = client.consumer({
        groupId: 'g-auth-reader',
        sessionTimeoutMs: 2000,
        heartbeatIntervalMs: 200,
        onError: (e) => void errors.push(e),
      })
      await consumer.subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 0 })
      await waitFor('the first record', 5000, () => got.length === 1)
      const changed = await r.change(/^keyed-reader-/)
      // The shared connection is still signed in: sends, heartbeats and lease renewals go on working.
      await producer.send(topic, { key: 'k', value: 1 })
      await waitFor('the consumer to fail', 5000, () => errors.length > 0)
      expect(Date.now() - changed).toBeLessThan(3000)
      expect(errors).toHaveLength(1)
      checkRefused(errors[0])
      await expect(consumer.stopped()).rejects.toBe(errors[0])
      expect(got).toEqual([0])
      for (const line of r.logs) expectNoSecret(line, OLD, NEW)
      await r.restore()
      await redelivered(r.url, topic.name, 'g-auth-reader', [1])
    } finally {
      await client.close()
      await r.stop()
    }
  }, 40_000)

  it('stops a group member with AuthenticationError when every connection drops with a batch in flight; it closes without waiting out its reader, retries nothing, and acknowledges nothing it did not finish', async () => {
    const r = await rotation()
    const client = createClient({ backend: redis({ url: r.url, blockMs: 200, sendTimeoutMs: 8000 }), logger: r.logger })
    try {
      const topic = defineTopic(uniqueTopic('auth-all'), { partitions: 1 })
      const got: unknown[] = []
      const errors: KeyedError[] = []
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const consumer = client.consumer({
        groupId: 'g-auth-all',
        sessionTimeoutMs: 2000,
        heartbeatIntervalMs: 200,
        onError: (e) => void errors.push(e),
      })
      await consumer.subscribe(
        topic,
        async (m) => {
          got.push(m.value)
          if (m.value === 1) await gate
        },
        { fromBeginning: true },
      )
      const producer = client.producer()
      await producer.send(topic, { key: 'k', value: 0 })
      await producer.send(topic, [
        { key: 'k', value: 1 },
        { key: 'k', value: 2 },
      ])
      await waitFor('record 1 being handled', 5000, () => got.includes(1))
      const changed = await r.change('all')
      await waitFor('the consumer to fail', 5000, () => errors.length > 0)
      expect(Date.now() - changed).toBeLessThan(3000)
      checkRefused(errors[0])
      release() // finished after the failure: its commit is refused, and it is delivered again
      // The member closes at once: its reader does not wait for an answer that cannot come.
      await expect(consumer.close()).resolves.toBeUndefined()
      await expect(consumer.stopped()).rejects.toBe(errors[0])
      // Each reader connection was refused once and dropped: no reconnect after reconnect, warning after warning.
      await sleep(1000)
      const readers = r.logs.filter((l) => l.obj.connection?.startsWith('keyed-reader-'))
      expect(readers).toHaveLength(1)
      expect(readers[0]!.msg).toMatch(/refused the credentials; closed, not reconnecting/)
      for (const line of r.logs) expectNoSecret(line, OLD, NEW)
      await r.restore()
      await redelivered(r.url, topic.name, 'g-auth-all', [1, 2])
    } finally {
      await client.close().catch(() => undefined)
      await r.stop()
    }
  }, 40_000)

  it('stops a group member with AuthenticationError when its connections drop with their heartbeat and read unanswered (a reply never comes after a refused reconnect)', async () => {
    const r = await rotation()
    const proxy = await replyDroppingProxy(r.server.port)
    const url = proxy.url.replace('redis://', `redis://:${OLD}@`)
    const client = createClient({ backend: redis({ url, blockMs: 200, sendTimeoutMs: 8000 }), logger: r.logger })
    try {
      const topic = defineTopic(uniqueTopic('auth-inflight'), { partitions: 1 })
      const got: unknown[] = []
      const errors: KeyedError[] = []
      const consumer = client.consumer({
        groupId: 'g-auth-inflight',
        sessionTimeoutMs: 4000,
        heartbeatIntervalMs: 200,
        onError: (e) => void errors.push(e),
      })
      await consumer.subscribe(topic, (m) => void got.push(m.value), { fromBeginning: true })
      await client.producer().send(topic, { key: 'k', value: 0 })
      await waitFor('the first record', 5000, () => got.length === 1)
      proxy.dropReplies = true
      await sleep(500) // a heartbeat and a read written, their replies lost
      await r.change('none')
      proxy.dropReplies = false
      proxy.cut()
      const changed = Date.now()
      await waitFor('the consumer to fail', 5000, () => errors.length > 0)
      expect(Date.now() - changed).toBeLessThan(3000)
      checkRefused(errors[0])
      await expect(consumer.close()).resolves.toBeUndefined()
      for (const line of r.logs) expectNoSecret(line, OLD, NEW)
    } finally {
      await client.close().catch(() => undefined)
      await proxy.close()
      await r.stop()
    }
  }, 40_000)

  it("fails a send on its WAIT connection (acks 'all') with AuthenticationError at once when its reply is lost and the reconnect refused, not a TimeoutError after sendTimeoutMs; nothing reconnects on its own", async () => {
    const r = await rotation()
    const proxy = await replyDroppingProxy(r.server.port)
    const url = proxy.url.replace('redis://', `redis://:${OLD}@`)
    // No replica: a WAIT would block replicaTimeoutMs; the reply of the send (append and WAIT) is lost first.
    const client = createClient({
      backend: redis({ url, replicas: 1, replicaTimeoutMs: 300, sendTimeoutMs: 8000 }),
      logger: r.logger,
    })
    try {
      const topic = defineTopic(uniqueTopic('auth-wait'), { partitions: 1 })
      await client.admin().ensureTopics([topic])
      const producer = client.producer({ idempotent: false, retries: 0 })
      // The WAIT connection is dialed by the first send (the server has no replica: it times out).
      expect(isKeyedError(await producer.send(topic, { key: 'k', value: 0 }).catch((e: unknown) => e), 'TIMEOUT')).toBe(
        true,
      )
      proxy.dropReplies = true
      const sending = producer.send(topic, { key: 'k', value: 1 }).catch((e: unknown) => e)
      await sleep(500)
      await r.change('none')
      proxy.dropReplies = false
      proxy.cut()
      const changed = Date.now()
      checkRefused(await sending)
      expect(Date.now() - changed).toBeLessThan(3000)
      const next = Date.now()
      checkRefused(await producer.send(topic, { key: 'k', value: 2 }).catch((e: unknown) => e))
      expect(Date.now() - next).toBeLessThan(1500)
      // A refused connection is dropped, not retried with the same credentials again and again.
      const warnings = () => r.logs.filter((l) => l.obj.connection === 'keyed-producer').length
      const seen = warnings()
      await sleep(1500)
      expect(warnings()).toBe(seen)
      for (const line of r.logs) expectNoSecret(line, OLD, NEW)
      // Once the password is back, a send connects anew and waits for its replica again.
      await r.restore()
      const error = await producer.send(topic, { key: 'k', value: 3 }).catch((e: unknown) => e)
      expect(isKeyedError(error, 'TIMEOUT'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/reached 0 of 1 replica/)
    } finally {
      await client.close()
      await proxy.close()
      await r.stop()
    }
  }, 40_000)

  it("reports AuthenticationError through a table's onError when its reader's reconnect is refused, rather than following nothing", async () => {
    const r = await rotation()
    const client = createClient({ backend: redis({ url: r.url, blockMs: 200 }), logger: r.logger })
    try {
      const topic = defineTopic(uniqueTopic('auth-table'), { partitions: 1, cleanupPolicy: 'compact' })
      await client.producer().send(topic, { key: 'k', value: 0 })
      const errors: KeyedError[] = []
      const table = client.table(topic, { onError: (e) => void errors.push(e) })
      await table.ready()
      const changed = await r.change(/^keyed-table-/)
      await waitFor('the table to fail', 5000, () => errors.length > 0)
      expect(Date.now() - changed).toBeLessThan(3000)
      expect(errors).toHaveLength(1)
      checkRefused(errors[0])
      for (const line of r.logs) expectNoSecret(line, OLD, NEW)
    } finally {
      await client.close()
      await r.stop()
    }
  }, 40_000)
})
