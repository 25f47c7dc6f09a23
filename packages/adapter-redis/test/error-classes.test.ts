import { describe, expect, it } from 'vitest'
import { toKeyedError } from '../src/errors.js'
import type { ServerAddress } from '../src/url.js'

const server: ServerAddress = {
  host: '127.0.0.1',
  port: 6379,
  username: undefined,
  password: 's3cret',
  db: 0,
  tls: false,
  display: 'redis://127.0.0.1:6379',
}

/** ioredis's errors as it makes them: a plain Error with a name and a message. */
const ioredisError = (name: string, message: string) => Object.assign(new Error(message), { name })

describe('what ioredis reports of a lost connection is retriable', () => {
  it.each([
    ['MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'],
    ['Error', 'Connection is closed.'],
    ['AbortError', 'Command aborted due to connection close'],
  ])('%s: %s', (name, message) => {
    const error = toKeyedError(ioredisError(name, message), 'join group g', server)
    expect(error.code).toBe('BACKEND_UNAVAILABLE')
    expect(error.retriable).toBe(true)
  })

  it('an error it does not know stays permanent', () => {
    expect(toKeyedError(ioredisError('Error', 'something else'), 'join group g', server).retriable).toBe(false)
  })
})
