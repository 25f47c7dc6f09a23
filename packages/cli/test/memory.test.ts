// Every command through the built binary on the memory backend. A memory backend lives in its process, so topics and
// group commits come from a --seed file (test-only, hidden from --help) or keys from --keys FILE / stdin.
import { describe, expect, it } from 'vitest'
import { partitionFor } from '@keyed/sdk'
import { analysisSchema, errorSchema, json, keyed, lagSchema, migrateSchema, planSchema, tempFile } from './cli.js'

const keys = Array.from({ length: 3000 }, (_, i) => (i % 4 === 0 ? 'tenant-hot' : `customer-${i % 700}`))
const keyFile = tempFile('keys.txt', keys.join('\n') + '\n')

function expectedLoad(list: readonly string[], partitions: number): number[] {
  const load = new Array<number>(partitions).fill(0)
  for (const k of list) load[partitionFor(k, partitions)]!++
  return load
}

describe('keys analyze from a file or stdin', () => {
  it("counts records and distinct keys per partition with Kafka's murmur2, finds the hot key and says what to do", () => {
    const a = json(keyed(['keys', 'analyze', '--keys', keyFile, '--partitions', '6', '--json']), analysisSchema)
    expect(a.records).toBe(3000)
    expect(a.distinctKeys).toBe(new Set(keys).size)
    expect(a.perPartition.map((p) => p.records)).toEqual(expectedLoad(keys, 6))
    expect(a.hotKeys[0]).toMatchObject({
      key: 'tenant-hot',
      records: 750,
      share: 0.25,
      partition: partitionFor('tenant-hot', 6),
    })
    expect(a.verdict.level).toBe('bad')
    expect(a.verdict.suggestion).toContain("compound key ('tenant-hot:<sub-id>'")
    const load = expectedLoad(keys, 6)
    expect(a.skew.maxOverMean).toBeCloseTo(Math.max(...load) / 500, 6)
  })

  it('prints a bar chart, the skew and the verdict as text', () => {
    const run = keyed(['keys', 'analyze', '--keys', keyFile, '--partitions', '6'])
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`3,000 records, ${new Set(keys).size} distinct keys`)
    expect(run.stdout).toMatch(/█/)
    expect(run.stdout).toMatch(/skew: max\/mean \d\.\d\d, coefficient of variation/)
    expect(run.stdout).toContain('verdict: BAD: hot key')
  })

  it('reads stdin with --keys -, and --fail-on-skew exits 2 with the analysis still printed', () => {
    const run = keyed(
      ['keys', 'analyze', '--keys', '-', '--partitions', '6', '--fail-on-skew', '1.1', '--json'],
      keys.join('\n'),
    )
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/^keyed: skew \d\.\d\d \(max\/mean\) is above --fail-on-skew 1\.1\.\n$/)
    expect(json(run, analysisSchema).failOnSkew).toEqual({ threshold: 1.1, failed: true })
    expect(keyed(['keys', 'analyze', '--keys', keyFile, '--partitions', '6', '--fail-on-skew', '5']).status).toBe(0)
  })

  it('calls evenly spread keys balanced', () => {
    const even = tempFile('even.txt', Array.from({ length: 60_000 }, (_, i) => `user-${i}`).join('\n'))
    const a = json(keyed(['keys', 'analyze', '--keys', even, '--partitions', '4', '--json']), analysisSchema)
    expect(a.verdict.level).toBe('ok')
    expect(a.skew.maxOverMean).toBeLessThan(1.05)
  })
})

describe('partitions plan', () => {
  it('gives the share of keys and records that would move, a sample, the ordering impact and counts that move fewer', () => {
    const p = json(
      keyed(['partitions', 'plan', '--keys', keyFile, '--partitions', '6', '--to', '8', '--json']),
      planSchema,
    )
    const distinct = [...new Set(keys)]
    const moved = distinct.filter((k) => partitionFor(k, 6) !== partitionFor(k, 8))
    expect(p.movedKeys).toBe(moved.length)
    expect(p.movedRecords).toBe(keys.filter((k) => partitionFor(k, 6) !== partitionFor(k, 8)).length)
    expect(p.sample.length).toBe(10)
    for (const s of p.sample) expect([s.from, s.to]).toEqual([partitionFor(s.key, 6), partitionFor(s.key, 8)])
    expect(p.ordering).toContain('keyed topic migrate')
    expect(p.ordering).toMatch(
      /^Kafka does not move existing records: .* On Redis a topic's partition count is fixed when it is created/,
    )
    // 12 (a multiple of 6) keeps the keys whose partition under 12 is their partition under 6: about half.
    const twelve = p.alternatives.find((a) => a.partitions === 12)!
    expect(twelve.movedKeyShare).toBeCloseTo(
      distinct.filter((k) => partitionFor(k, 12) !== partitionFor(k, 6)).length / distinct.length,
      9,
    )
    expect(twelve.movedKeyShare).toBeLessThan(p.movedKeyShare)
  })
})

describe('partitions plan when shrinking', () => {
  it('says Kafka cannot lower a partition count and points to a new topic and topic migrate', () => {
    const p = json(
      keyed(['partitions', 'plan', '--keys', keyFile, '--partitions', '6', '--to', '3', '--json']),
      planSchema,
    )
    expect(p.ordering).not.toContain('Kafka does not move existing records')
    expect(p.ordering).toMatch(
      /^Kafka cannot lower a topic's partition count: for 3 partitions, copy it to a new topic with `keyed topic migrate`/,
    )
    expect(p.ordering).toContain(
      "On Redis a topic's partition count is fixed when it is created: there, a new topic and `keyed topic migrate`",
    )
  })
})

const seed = tempFile(
  'seed.json',
  JSON.stringify({
    topics: [
      {
        name: 'orders',
        partitions: 3,
        records: [
          ...Array.from({ length: 300 }, (_, i) => ({ key: `c-${i % 30}`, value: `v${i}` })),
          { key: null, value: 'no key' },
          // Written by another partitioner: not where murmur2 puts it.
          { key: 'c-1', value: 'elsewhere', partition: (partitionFor('c-1', 3) + 1) % 3 },
        ],
      },
    ],
    groups: [{ groupId: 'billing', topic: 'orders', handled: { '0': 5, '2': 1 } }],
  }),
)

describe('a topic on the memory backend (seeded)', () => {
  it('keys analyze reads the topic to its end: keyless share and misplaced records', () => {
    const a = json(keyed(['--seed', seed, 'keys', 'analyze', 'orders', '--json']), analysisSchema)
    expect(a).toMatchObject({ records: 302, keyless: 1, distinctKeys: 30, misplacedRecords: 1, partitions: 3 })
    expect(a.keylessShare).toBeCloseTo(1 / 302, 9)
  })

  it('lag shows committed position, end and lag per partition', () => {
    const l = json(keyed(['--seed', seed, 'lag', 'billing', 'orders', '--json']), lagSchema)
    const ends = l.partitions.map((p) => Number(p.end))
    expect(l.partitions.map((p) => p.committed)).toEqual(['5', undefined, '1'])
    expect(l.partitions.map((p) => p.lag)).toEqual([ends[0]! - 5, ends[1]!, ends[2]! - 1])
    expect(l.totalLag).toBe(302 - 6)
    const text = keyed(['--seed', seed, 'lag', 'billing'])
    expect(text.stdout).toMatch(/orders\s+1\s+-\s+\d+/)
  })

  it('topic migrate copies every record to the new count in per-key order and verifies it', () => {
    const m = json(
      keyed(['--seed', seed, 'topic', 'migrate', 'orders', 'orders-v2', '--partitions', '5', '--json']),
      migrateSchema,
    )
    expect(m).toMatchObject({ created: true, copied: 302, skipped: 0, partitions: { from: 3, to: 5 } })
    // 30 keys; the keyless record is no key.
    expect(m.verification).toMatchObject({
      ok: true,
      keys: 30,
      sourceRecords: 302,
      targetRecords: 302,
      mismatchedKeys: 0,
    })
  })

  it('topic migrate refuses a target that holds records its group never copied, and copies nothing into it', () => {
    const foreign = tempFile(
      'foreign.json',
      JSON.stringify({
        topics: [
          { name: 'orders', partitions: 3, records: [{ key: 'a', value: 'x' }] },
          { name: 'theirs', partitions: 5, records: [{ key: 'b', value: 'someone else' }] },
        ],
      }),
    )
    const run = keyed(['--seed', foreign, 'topic', 'migrate', 'orders', 'theirs', '--partitions', '5', '--json'])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(
      /^keyed: Topic 'theirs' already holds records and group 'keyed-migrate\.orders\.theirs' has no position in 'orders'/,
    )
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(errorSchema.parse(JSON.parse(run.stdout)).error).toMatchObject({
      code: 'TARGET_NOT_EMPTY',
      retriable: false,
    })
    // With the group's position (an interrupted run of this migration) the same target is resumed.
    const resumable = tempFile(
      'resumable.json',
      JSON.stringify({
        topics: [
          {
            name: 'orders',
            partitions: 3,
            records: [
              { key: 'a', value: 'x', partition: 0 },
              { key: 'c', value: 'y', partition: 1 },
            ],
          },
          { name: 'theirs', partitions: 5, records: [{ key: 'a', value: 'x' }] },
        ],
        groups: [{ groupId: 'keyed-migrate.orders.theirs', topic: 'orders', handled: { '0': 1 } }],
      }),
    )
    const resumed = keyed([
      '--seed',
      resumable,
      'topic',
      'migrate',
      'orders',
      'theirs',
      '--partitions',
      '5',
      '--no-verify',
      '--json',
    ])
    expect(json(resumed, migrateSchema)).toMatchObject({ created: false, copied: 1 })
  })

  it('partitions plan reads the keys of the topic', () => {
    const p = json(keyed(['--seed', seed, 'partitions', 'plan', 'orders', '--to', '6', '--json']), planSchema)
    expect(p).toMatchObject({ from: 3, to: 6, distinctKeys: 30, records: 301 })
    expect(p.ordering).toMatch(/^On the memory backend, a topic's partition count is fixed when it is created/)
  })
})

describe('bad input: one line, non-zero exit, no stack, no secret', () => {
  it.each([
    [
      ['--backend', 'postgres://admin:hunter2@db:5432', 'lag', 'g'],
      /^keyed: Unknown backend URL 'postgres:\/\/admin:\*\*\*@db:5432'\. Expected kafka:\/\//,
    ],
    [
      ['--backend', 'kafka://admin:hunter2@k:9092', 'lag', 'g'],
      /^keyed: --backend kafka:\/\/admin:\*\*\*@k:9092: Kafka credentials cannot be given in the URL/,
    ],
    [
      ['--backend', 'redis://127.0.0.1:6379?password=hunter2', 'lag', 'g'],
      /redis:\/\/127\.0\.0\.1:6379\?password=\*\*\*/,
    ],
    [['--backend', 'kafka://localhost', 'lag', 'g'], /'localhost' is not host:port/],
    [
      ['keys', 'analyze', 'missing-topic'],
      /^keyed: Topic 'missing-topic' does not exist on memory\. Check the name and --backend\.\n$/,
    ],
    [
      ['keys', 'analyze', '--keys', '/nonexistent/keys.txt', '--partitions', '3'],
      /^keyed: --keys \/nonexistent\/keys\.txt: cannot read the file \(it does not exist\)\.\n$/,
    ],
    [['keys', 'analyze', '--keys', keyFile], /--keys needs --partitions N/],
    [['topic', 'migrate', 'nope', 'nope-2', '--partitions', '2'], /^keyed: Topic 'nope' does not exist on memory/],
  ])('%j', (args, message) => {
    const run = keyed(args)
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(message)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr + run.stdout).not.toContain('hunter2')
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  it('--json also prints the error as JSON', () => {
    const run = keyed(['--json', 'keys', 'analyze', 'missing-topic'])
    expect(run.status).toBe(1)
    expect(errorSchema.parse(JSON.parse(run.stdout)).error).toMatchObject({ code: 'USAGE', retriable: false })
  })

  it.each([
    [
      ['keys', 'analyze', '--keys', keyFile, '--partitions', 'abc', '--json'],
      /'--partitions <n>' argument 'abc' is invalid/,
    ],
    [['bogus', '--json'], /^unknown command 'bogus'/],
    [['--json'], /^no command given/],
  ])('a refusal of the parser is JSON on stdout with --json: %j', (args, message) => {
    const run = keyed(args)
    expect(run.status).toBe(1)
    expect(run.stderr).not.toBe('')
    const { error } = errorSchema.parse(JSON.parse(run.stdout))
    expect(error).toMatchObject({ code: 'USAGE', retriable: false })
    expect(error.message).toMatch(message)
  })

  it('--help and --version with --json print no error', () => {
    for (const flag of ['--help', '--version']) {
      const run = keyed([flag, '--json'])
      expect(run.status).toBe(0)
      expect(run.stdout).not.toContain('"error"')
    }
  })

  it('a bad option value is refused by the parser with a one-line message', () => {
    const run = keyed(['keys', 'analyze', '--keys', keyFile, '--partitions', 'zero'])
    expect(run.status).toBe(1)
    expect(run.stderr).toContain(
      "error: option '--partitions <n>' argument 'zero' is invalid. expected an integer >= 1, got 'zero'.",
    )
  })
})
