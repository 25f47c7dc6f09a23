import { inspect } from 'node:util'
import kafkajs from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { isKeyedError } from '@keyed/sdk'
import { toKeyedError } from '../src/errors.js'
import { secretsOf } from '../src/options.js'

const PASSWORD = 'p@ss/w:rd%Sup3r'
const context = {
  brokers: ['127.0.0.1:9092'],
  secrets: secretsOf({
    brokers: ['127.0.0.1:9092'],
    sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD },
  }),
}
const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSSASLAuthenticationError, KafkaJSConnectionError } =
  kafkajs

const retried = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 100 })

/** A kafkajs protocol error as the client builds it from a broker's error code. */
function protocol(type: string, retriable = false) {
  return new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code: 0, retriable }))
}

/** Everything a user could see of an error: message, stack, cause chain, enumerable fields, util.inspect. */
function everything(error: unknown): string {
  const parts: string[] = []
  for (let e: unknown = error, i = 0; e && i < 10; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e))
  }
  parts.push(inspect(error, { depth: 10, showHidden: true }))
  return parts.join('\n')
}

describe('kafka error translation', () => {
  it.each([
    ['MESSAGE_TOO_LARGE', 'BACKEND_REFUSED', 'max.message.bytes', /max\.message\.bytes/],
    ['INVALID_TIMESTAMP', 'BACKEND_REFUSED', 'message.timestamp.before.max.ms', /message\.timestamp\.after\.max\.ms/],
    [
      'INVALID_SESSION_TIMEOUT',
      'BACKEND_REFUSED',
      'sessionTimeoutMs',
      /group\.min\.session\.timeout\.ms .. group\.max\.session\.timeout\.ms/,
    ],
    [
      'INCONSISTENT_GROUP_PROTOCOL',
      'BACKEND_REFUSED',
      'groupId',
      /Java consumer on the classic protocol.*group\.protocol=consumer/,
    ],
    ['TOPIC_AUTHORIZATION_FAILED', 'BACKEND_REFUSED', 'ACL', /ACL/],
  ])('%s is a permanent %s naming %s', (type, code, setting, text) => {
    const error = toKeyedError(retried(protocol(type)), 'do it', context)
    expect(error).toMatchObject({ code, setting, retriable: false })
    expect(error.message).toMatch(text)
  })

  it('keeps what kafkajs calls retriable retriable, and unknown client failures permanent', () => {
    expect(toKeyedError(protocol('LEADER_NOT_AVAILABLE', true), 'send', context)).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      retriable: true,
    })
    expect(toKeyedError(new KafkaJSConnectionError('Connection timeout'), 'send', context)).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      retriable: true,
    })
    expect(toKeyedError(retried(new TypeError('boom')), 'consume', context)).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      retriable: false,
    })
    expect(toKeyedError(protocol('REBALANCE_IN_PROGRESS', true), 'commit', context)).toMatchObject({ code: 'FENCED' })
  })

  it('reports a refused login as AuthenticationError, and no secret in any part of it', () => {
    // kafkajs errors can quote the SASL exchange or a broker string; the keyed error keeps neither as cause.
    const sasl = new (KafkaJSSASLAuthenticationError as new (message: string) => Error)(
      `SASL PLAIN authentication failed for alice:${PASSWORD} at ${encodeURIComponent(PASSWORD)}`,
    )
    const wrapped = retried(Object.assign(sasl, { originalError: { password: PASSWORD } }))
    const error = toKeyedError(wrapped, 'connect', context)
    expect(isKeyedError(error, 'AUTHENTICATION')).toBe(true)
    expect(error.retriable).toBe(false)
    expect(error.message).toMatch(/SASL.*username and password/)
    expect(error.cause).toBeUndefined()
    const seen = everything(error)
    expect(seen).not.toContain(PASSWORD)
    expect(seen).not.toContain(encodeURIComponent(PASSWORD))
  })

  it('treats credentials written into a broker string as secrets', () => {
    const secrets = secretsOf({ brokers: ['SASL_SSL://alice:hunter2@host:9092'] })
    const error = toKeyedError(new KafkaJSConnectionError('failed to connect to alice:hunter2@host:9092'), 'connect', {
      brokers: ['SASL_SSL://alice:hunter2@host:9092'],
      secrets,
    })
    expect(everything(error)).not.toContain('hunter2')
  })
})

describe('kafka connection failures kafkajs reports as plain errors', () => {
  it('reads "Broker not connected" as a retriable BackendUnavailableError that says what to check', () => {
    const error = toKeyedError(retried(new Error('Broker not connected')), "describe topic 'orders'", context)
    expect(isKeyedError(error, 'BACKEND_UNAVAILABLE')).toBe(true)
    expect(error.retriable).toBe(true)
    expect(error.message).toMatch(/no broker answered at 127\.0\.0\.1:9092/)
    expect(error.message).toMatch(/brokers option/)
    expect(error.message).not.toMatch(/TLS/)
  })

  it('names a TLS mismatch as a likely cause when the client uses TLS', () => {
    const error = toKeyedError(new KafkaJSConnectionError('Connection timeout'), 'connect', { ...context, tls: true })
    expect(error.message).toMatch(/plaintext listener/)
  })
})
