import { afterAll, describe, expect, it } from 'vitest'
import { createClient, defineTopic, isKeyedError, type Client } from '@keyed/sdk'
import { redis } from '../src/index.js'
import { CLUSTER_BASE, CLUSTER_URLS, runPrefix, uniqueTopic } from './helpers.js'
import { expectNoSecret } from './secrets.js'

const SECRET = 'Cl5sterPw'
const caught = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}
const clients: Client[] = []
afterAll(() => Promise.all(clients.map((c) => c.close())))

describe('redis({ cluster })', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'url and cluster together',
      () => redis({ url: `redis://:${SECRET}@127.0.0.1:7000`, cluster: ['redis://127.0.0.1:7000'] }),
      /give one of them/,
    ],
    ['an empty list', () => redis({ cluster: [] }), /non-empty list/],
    ['a database', () => redis({ cluster: [`redis://:${SECRET}@127.0.0.1:7000/2`] }), /only database 0/],
    [
      'nodes with different passwords',
      () => redis({ cluster: [`redis://:${SECRET}@127.0.0.1:7000`, `redis://:other${SECRET}@127.0.0.1:7001`] }),
      /differ in user, password or scheme/,
    ],
    [
      'a malformed node URL',
      () => redis({ cluster: [`redis://:${SECRET}@127.0.0.1:7000`, `redis://:${SECRET}@x@127.0.0.1:7001`] }),
      /%40/,
    ],
  ]
  for (const [what, make, problem] of cases) {
    it(`refuses ${what} with a ConfigError that shows no password`, () => {
      const error = caught(make)
      expect(isKeyedError(error, 'CONFIG'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(problem)
      expectNoSecret(error, SECRET)
    })
  }

  it('fails with a keyed error naming the cluster, password redacted, when the nodes refuse the credentials', async () => {
    // The test cluster has no password: AUTH is refused.
    const c = createClient({
      backend: redis({
        cluster: CLUSTER_URLS.map((u) => u.replace('//', `//keyed:${SECRET}@`)),
        keyPrefix: runPrefix(),
        connectTimeoutMs: 2000,
      }),
    })
    clients.push(c)
    const error = await c
      .producer()
      .send(defineTopic(uniqueTopic('auth'), { partitions: 1 }), { key: 'a', value: 1 })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(isKeyedError(error), String(error)).toBe(true)
    expect((error as Error).message).toContain(`Redis Cluster [redis://keyed:***@127.0.0.1:${CLUSTER_BASE}`)
    expectNoSecret(error, SECRET)
  })
})
