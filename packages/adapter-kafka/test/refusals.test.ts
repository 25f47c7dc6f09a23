import { describe, expect, it } from 'vitest'
import { BackendRefusedError, createClient, defineTopic, isKeyedError } from '@keyed/sdk'
import { unique } from '@keyed/sdk/testing'
import { testKafka } from './support/brokers.js'

/** What a caller branches on: a permanent refusal naming what to change. */
function expectRefused(error: unknown, setting: string, text: RegExp): void {
  expect(isKeyedError(error, 'BACKEND_REFUSED')).toBe(true)
  expect(error).toBeInstanceOf(BackendRefusedError)
  expect(error).toMatchObject({ setting, retriable: false })
  expect((error as Error).message).toMatch(text)
}

describe('kafka refusals the same call meets again', () => {
  it('a session timeout outside the broker range names sessionTimeoutMs and the broker settings', async () => {
    const topic = defineTopic(unique('session'))
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      // The broker's group.min.session.timeout.ms is 6000 by default.
      const error = await client
        .consumer({ groupId: unique('session'), sessionTimeoutMs: 1000, heartbeatIntervalMs: 200 })
        .subscribe(topic, () => {})
        .catch((e: unknown) => e)
      expectRefused(error, 'sessionTimeoutMs', /sessionTimeoutMs.*group\.min\.session\.timeout\.ms/)
    } finally {
      await client.close()
    }
  })

  it('a topic setting the broker does not accept is named with its value', async () => {
    const topic = defineTopic(unique('bad-config'), { config: { 'segment.ms': '60000', 'compression.type': 'brotli' } })
    const client = createClient({ backend: testKafka() })
    try {
      const error = await client
        .admin()
        .ensureTopics([topic])
        .catch((e: unknown) => e)
      expectRefused(error, 'compression.type', /compression\.type=brotli/)
    } finally {
      await client.close()
    }
  })

  it('a timestamp the topic does not accept names the timestamp settings', async () => {
    const topic = defineTopic(unique('old-timestamp'), { config: { 'message.timestamp.before.max.ms': '60000' } })
    const client = createClient({ backend: testKafka() })
    try {
      await client.admin().ensureTopics([topic])
      const error = await client
        .producer()
        .send(topic, { key: 'k', value: 'v', timestamp: Date.now() - 3_600_000 })
        .catch((e: unknown) => e)
      expectRefused(error, 'message.timestamp.before.max.ms', /message\.timestamp\.before\.max\.ms/)
    } finally {
      await client.close()
    }
  })
})
