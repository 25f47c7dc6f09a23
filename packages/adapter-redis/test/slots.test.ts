import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { keySlot } from '../src/slots.js'
import { CLUSTER_BASE } from './helpers.js'

describe('keySlot', () => {
  it('gives the slot the cluster gives (CLUSTER KEYSLOT), hash tags and UTF-8 included', async () => {
    const keys = [
      'foo',
      'keyed:{orders:3}:log',
      'a{}b',
      '{user1000}.following',
      'ünï{cödé:1}',
      'x{y',
      'p:{t-abc:11}:lease:g',
      '',
    ]
    const conn = new Redis({ port: CLUSTER_BASE, host: '127.0.0.1', maxRetriesPerRequest: 1 })
    try {
      for (const key of keys) expect(keySlot(key), key).toBe(Number(await conn.call('CLUSTER', 'KEYSLOT', key)))
    } finally {
      conn.disconnect()
    }
  })
})
