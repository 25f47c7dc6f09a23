import { describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createClient, defineTopic, isKeyedError } from '@keyed/sdk'
import { redis } from '../src/index.js'
import { uniqueTopic } from './helpers.js'

describe('redis({ url }) with a database number', () => {
  it('refuses a database the server does not have instead of writing into database 0', async () => {
    const client = createClient({ backend: redis({ url: 'redis://127.0.0.1:6379/99' }) })
    try {
      const error = await client
        .producer()
        .send(defineTopic(uniqueTopic('db'), { partitions: 1 }), { key: 'k', value: 1 })
        .catch((e: unknown) => e)
      expect(isKeyedError(error, 'CONFIG')).toBe(true)
      expect((error as Error).message).toMatch(/no database 99/)
    } finally {
      await client.close()
    }
  })

  it('writes into the database the URL names', async () => {
    const name = uniqueTopic('db')
    const client = createClient({ backend: redis({ url: 'redis://127.0.0.1:6379/3' }) })
    const raw = new Redis({ host: '127.0.0.1', port: 6379, db: 3, lazyConnect: true })
    try {
      await client.producer().send(defineTopic(name, { partitions: 1 }), { key: 'k', value: 1 })
      expect((await raw.keys(`*${name}*`)).length).toBeGreaterThan(0)
    } finally {
      const keys = await raw.keys(`*${name}*`)
      if (keys.length) await raw.del(...keys)
      raw.disconnect()
      await client.close()
    }
  })
})
