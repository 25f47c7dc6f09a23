import { describe, expect, it } from 'vitest'
import { ProtocolError, MultipleErrors, NetworkError, AuthenticationError as PltAuthError } from '@platformatic/kafka'
import { toKeyedError } from '../../src/errors.js'
import { platformaticChain } from '../../src/platformatic/errors.js'

const context = { brokers: ['127.0.0.1:9092'], secrets: ['hunter2'] }
const map = (error: unknown) => toKeyedError(error, 'send 1 record(s)', context, platformaticChain)

describe("@platformatic/kafka's errors as keyed errors", () => {
  it('reads the specific protocol error out of an aggregate, not the generic one beside it', () => {
    const error = new MultipleErrors('Producing messages failed.', [
      new MultipleErrors('Received response with error', [
        new ProtocolError('UNKNOWN_SERVER_ERROR', 'Timestamp 1 of message with offset 0 is out of range.'),
        new ProtocolError('INVALID_TIMESTAMP', 'One or more records have been rejected due to invalid timestamp'),
      ]),
    ])
    expect(map(error)).toMatchObject({
      code: 'BACKEND_REFUSED',
      setting: 'message.timestamp.before.max.ms',
      retriable: false,
    })
  })

  it('maps fencing, lost connections, refused logins and retriable broker answers', () => {
    expect(map(new ProtocolError('ILLEGAL_GENERATION'))).toMatchObject({ code: 'FENCED' })
    expect(map(new ProtocolError('UNKNOWN_MEMBER_ID'))).toMatchObject({ code: 'FENCED' })
    expect(map(new NetworkError('Connection to 127.0.0.1:9092 failed.'))).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      retriable: true,
    })
    expect(map(new PltAuthError('SASL authentication failed for user with password hunter2'))).toMatchObject({
      code: 'AUTHENTICATION',
      retriable: false,
    })
    expect(map(new PltAuthError('SASL failed: hunter2')).message).not.toContain('hunter2')
    expect(map(new ProtocolError('NOT_LEADER_OR_FOLLOWER'))).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      retriable: true,
    })
    expect(map(new ProtocolError('MESSAGE_TOO_LARGE'))).toMatchObject({
      code: 'BACKEND_REFUSED',
      setting: 'max.message.bytes',
    })
    // Never the client's error as cause: its fields can hold a broker string or a SASL exchange.
    expect((map(new ProtocolError('ILLEGAL_GENERATION')) as Error).cause).toBeUndefined()
  })
})
