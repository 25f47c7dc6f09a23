// copyTopic() in this process on the memory backend (the other files run the built binary).
import { describe, expect, it } from 'vitest'
import { memory } from '@keyed/adapter-memory'
import type { Backend, BackendConsumer } from '@keyed/sdk/backend'
import { copyTopic } from '../src/migrate/copy.js'
import { unique } from './cli.js'

/** The backend with each group commit held back a while, so batches are often sent but not yet committed. */
function slowCommits(backend: Backend, ms: number): Backend {
  return new Proxy(backend, {
    get(target, name) {
      if (name === 'consumer')
        return (settings: Parameters<Backend['consumer']>[0]): BackendConsumer => {
          const member = target.consumer(settings)
          return new Proxy(member, {
            get(m, n) {
              if (n === 'commit')
                return async (...args: Parameters<BackendConsumer['commit']>) => {
                  await new Promise((resolve) => setTimeout(resolve, ms))
                  return m.commit(...args)
                }
              const value = Reflect.get(m, n) as unknown
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(m) : value
            },
          })
        }
      const value = Reflect.get(target, name) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

describe('copyTopic', () => {
  it("reports progress out of the source's records: records sent but not committed are not counted twice", async () => {
    const backend = memory()
    const from = unique('progress')
    await backend.createTopic({
      name: from,
      partitions: 4,
      cleanupPolicy: 'delete',
      retentionMs: undefined,
      retentionBytes: undefined,
      deleteRetentionMs: undefined,
      minCompactionLagMs: undefined,
      config: {},
    })
    const producer = backend.producer({ idempotent: true, acks: 'all', maxInFlight: 1, retries: 0, clientId: 't' })
    const records = 8000
    await producer.send(
      Array.from({ length: records }, (_, i) => ({
        topic: from,
        partition: i % 4,
        key: new TextEncoder().encode(`k-${i % 97}`),
        value: new TextEncoder().encode(String(i)),
        headers: {},
        timestamp: 0,
      })),
    )
    await producer.close()
    const source = (await backend.topicSpec!(from))!
    const to = `${from}-v2`
    await backend.createTopic({ ...source, name: to, partitions: 6 })
    const calls: Array<[number, number]> = []
    const outcome = await copyTopic({
      backend: slowCommits(backend, 80),
      source,
      to,
      partitions: 6,
      groupId: `${from}-group`,
      batch: 50,
      created: true,
      onProgress: (done, remaining) => calls.push([done, remaining]),
    })
    await backend.close()
    expect(outcome.copied).toBe(records)
    // Some polls happened mid-copy (the first call is the start, the last the end).
    expect(calls.slice(1, -1).some(([done, remaining]) => done > 0 && remaining > 0)).toBe(true)
    for (const [done, remaining] of calls) expect(done + remaining).toBeLessThanOrEqual(records)
    expect(calls.at(-1)).toEqual([records, 0])
  })
})
