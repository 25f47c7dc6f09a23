import { Partitioners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { murmur2, partitionFor, toPositive } from '../src/index.js'

// Expected values from Apache Kafka's own UtilsTest (Utils.murmur2 on these bytes).
const JAVA_CASES: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
]

const kafkajs = Partitioners.DefaultPartitioner()
const kafkajsPartition = (key: Buffer, partitions: number) =>
  kafkajs({
    topic: 't',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
      partitionErrorCode: 0,
    })),
    message: { key, value: null },
  })

function randomKey(i: number): string {
  const alphabet = ['a', 'Z', '0', '-', 'é', 'ü', 'ß', '日', '本', '🙂', 'Ω', ' ']
  let s = ''
  for (let n = 0; n < (i % 23) + 1; n++) s += alphabet[(i * 7 + n * 13 + (i >> 3)) % alphabet.length]
  return s
}

describe('murmur2', () => {
  it('matches the Java client on its published test vectors', () => {
    for (const [key, expected] of JAVA_CASES) {
      expect(murmur2(key)).toBe(expected)
      expect(murmur2(Buffer.from(key))).toBe(expected)
    }
  })

  it('hashes a string as its UTF-8 bytes, not its UTF-16 code units', () => {
    for (const key of ['klíč', '日本', '🙂', 'ü']) {
      expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')))
      expect(murmur2(key)).not.toBe(murmur2(Buffer.from(key, 'latin1')))
    }
  })

  it('puts 20,000 ASCII, non-ASCII and binary keys on the partition kafkajs DefaultPartitioner (Java-compatible) picks', () => {
    for (let i = 0; i < 20000; i++) {
      const partitions = (i % 50) + 1
      const key = i % 3 === 0 ? `customer-${i}` : randomKey(i)
      expect(partitionFor(key, partitions)).toBe(kafkajsPartition(Buffer.from(key), partitions))
      const bytes = Buffer.from(Array.from({ length: i % 17 }, (_, n) => (i * 31 + n * 97) & 0xff))
      expect(partitionFor(bytes, partitions)).toBe(kafkajsPartition(bytes, partitions))
    }
  })

  it('hashes long non-ASCII keys and keys whose first non-ASCII char comes late as their UTF-8 bytes', () => {
    for (const key of [
      '日'.repeat(5000),
      `${'a'.repeat(4001)}ü`,
      'abcdé',
      'abcdefgh\u{1F642}',
      'lone \uD800 surrogate',
    ]) {
      expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')))
      expect(partitionFor(key, 13)).toBe(kafkajsPartition(Buffer.from(key), 13))
    }
  })

  it('hashes the empty key like any other key', () => {
    expect(partitionFor('', 7)).toBe(kafkajsPartition(Buffer.alloc(0), 7))
  })

  it('masks to positive like Java (not Math.abs), so -2^31 maps to 0', () => {
    expect(toPositive(-2147483648)).toBe(0)
    expect(toPositive(-1)).toBe(2147483647)
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff)
  })

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionFor('k', 0)).toThrow(/positive integer/)
    expect(() => partitionFor('k', 2.5)).toThrow(/positive integer/)
  })
})
