import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AuthenticationError,
  BackendUnavailableError,
  ConfigError,
  createClient,
  defineTopic,
  KeyedError,
} from '@keyed/sdk'
import { unique } from '@keyed/sdk/testing'
import { kafka } from '../src/index.js'
import { BROKER, CLIENT, TRANSPORT } from './support/brokers.js'

const PASSWORD = 'hunter2-Sup3rS3cret!'
// A loopback port nothing listens on.
const NOWHERE = '127.0.0.1:1'

describe('kafka connection', () => {
  afterEach(() => vi.restoreAllMocks())

  it('reports an unreachable broker as BackendUnavailableError naming the brokers and how to start Kafka, within a bounded time', async () => {
    const started = Date.now()
    const client = createClient({
      backend: kafka({
        ...TRANSPORT,
        brokers: [NOWHERE],
        logLevel: 'nothing',
        connectionTimeoutMs: 500,
        retry: { retries: 1, initialRetryTimeMs: 100 },
      }),
    })
    const error = await client
      .producer()
      .send(defineTopic(unique('nowhere')), { key: 'k', value: 1 })
      .catch((e: unknown) => e)
    await client.close()
    expect(error).toBeInstanceOf(BackendUnavailableError)
    expect((error as KeyedError).code).toBe('BACKEND_UNAVAILABLE')
    expect((error as Error).message).toContain(NOWHERE)
    expect((error as Error).message).toMatch(/Kafka is running there/)
    expect((error as KeyedError).retriable).toBe(true)
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('never prints the SASL password: not in the error of a failed login, nor in kafkajs logs', async () => {
    const written: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    const errors: unknown[] = []
    for (const brokers of [[BROKER], [NOWHERE]]) {
      const client = createClient({
        backend: kafka({
          ...TRANSPORT,
          brokers,
          sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD },
          logLevel: 'debug',
          connectionTimeoutMs: 500,
          retry: { retries: 1, initialRetryTimeMs: 100 },
        }),
      })
      // The test broker has no SASL listener, so the login fails like a wrong password would.
      errors.push(
        await client
          .producer()
          .send(defineTopic(unique('sasl')), { key: 'k', value: 1 })
          .catch((e: unknown) => e),
      )
      await client.close()
    }
    vi.restoreAllMocks()
    // The broker answered and refused the login: that is not an outage, and retrying will not help.
    expect(errors[0]).toBeInstanceOf(AuthenticationError)
    expect(errors[0]).toMatchObject({ code: 'AUTHENTICATION', retriable: false })
    expect((errors[0] as Error).message).toMatch(/refused the credentials.*SASL/)
    expect(errors[1]).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retriable: true })
    for (const error of errors) {
      const text = `${(error as Error).message}\n${(error as Error).stack ?? ''}\n${JSON.stringify(error)}`
      expect(text).not.toContain(PASSWORD)
    }
    // kafkajs logs at debug level; @platformatic/kafka does not log.
    if (CLIENT === 'kafkajs') expect(written.length).toBeGreaterThan(0)
    expect(written.join('')).not.toContain(PASSWORD)
  })

  it("with createClient({ logger }), kafkajs's messages go to the logger at their level, not stderr, without the password", async () => {
    const written: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    const lines: { level: string; obj: object; msg: string | undefined }[] = []
    const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
    const client = createClient({
      backend: kafka({
        brokers: [NOWHERE],
        sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD },
        logLevel: 'debug',
        connectionTimeoutMs: 500,
        retry: { retries: 1, initialRetryTimeMs: 100 },
      }),
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    })
    await client
      .producer()
      .send(defineTopic(unique('logger')), { key: 'k', value: 1 })
      .catch(() => undefined)
    await client.close()
    vi.restoreAllMocks()
    expect(written).toEqual([])
    expect(lines.map((l) => l.level)).toEqual(expect.arrayContaining(['error', 'debug']))
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/^kafkajs /)
    expect(JSON.stringify(lines)).not.toContain(PASSWORD)
  })

  it('refuses options that cannot work before connecting', () => {
    expect(() => kafka({ brokers: [] })).toThrow(ConfigError)
    expect(() => kafka({ brokers: [BROKER], replicationFactor: 0 })).toThrow(/replicationFactor/)
    // Credentials in a broker string are refused, and not repeated in the refusal.
    expect(() => kafka({ brokers: ['alice:hunter2@127.0.0.1:9092'] })).toThrow(/host:port.*sasl/)
    expect(() => kafka({ brokers: ['alice:hunter2@127.0.0.1:9092'] })).not.toThrow(/hunter2/)
    expect(() => kafka({ brokers: [BROKER], closeTimeoutMs: -1 })).toThrow(/closeTimeoutMs/)
  })
})
