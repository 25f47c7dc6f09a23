import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError } from '@keyed/sdk'
import { sleep, waitFor } from '@keyed/sdk/testing'
import { Redis } from 'ioredis'
import { redis } from '../src/index.js'
import { privateServer, uniqueTopic, type PrivateServer } from './helpers.js'
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
      expect(lines[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/failed; reconnecting/) })
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
})
