import type { OutgoingRecord, TopicSpec } from '@keyed/sdk/backend'
import { describe, expect, it } from 'vitest'
import { PartitionLog } from '../src/log.js'

const spec = (over: Partial<TopicSpec>): TopicSpec => ({
  name: 't',
  partitions: 1,
  cleanupPolicy: 'delete',
  retentionMs: undefined,
  retentionBytes: undefined,
  deleteRetentionMs: undefined,
  minCompactionLagMs: undefined,
  config: {},
  ...over,
})
const rec = (key: string | null, value: string | null, timestamp = 0): OutgoingRecord => ({
  topic: 't',
  partition: 0,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: {},
  timestamp,
})
const view = (log: PartitionLog) =>
  log
    .read(0, 100)
    .map((r) => `${r.offset}:${r.key && Buffer.from(r.key).toString()}=${r.value && Buffer.from(r.value).toString()}`)

describe('memory partition log', () => {
  it('compacts to the latest record per key without renumbering, keeping records younger than the compaction lag', () => {
    const log = new PartitionLog('t', 0)
    log.append(rec('a', '1'), 0)
    log.append(rec('b', '1'), 0)
    log.append(rec('a', '2'), 0)
    log.append(rec('a', '3'), 900)
    log.clean(spec({ cleanupPolicy: 'compact', minCompactionLagMs: 500 }), 1000)
    // a=2 is superseded but a=3 is younger than the lag: a=2 is removed, a=3 stays, a=1 too old and superseded.
    expect(view(log)).toEqual(['1:b=1', '3:a=3'])
    expect(log.logStartOffset).toBe(1)
    expect(log.logEndOffset).toBe(4)
  })

  it('keeps a tombstone for the delete retention, then drops it', () => {
    const log = new PartitionLog('t', 0)
    log.append(rec('a', '1'), 0)
    log.append(rec('a', null), 100)
    const compact = spec({ cleanupPolicy: 'compact', deleteRetentionMs: 1000 })
    log.clean(compact, 500)
    expect(view(log)).toEqual(['1:a=null'])
    log.clean(compact, 1200)
    expect(view(log)).toEqual([])
    expect(log.logStartOffset).toBe(2)
  })

  it('applies time retention by record timestamp and size retention from the oldest record', () => {
    const log = new PartitionLog('t', 0)
    for (let i = 0; i < 10; i++) log.append(rec('k', 'x'.repeat(100), i * 100), 0)
    log.clean(spec({ retentionMs: 450 }), 1000)
    expect(log.logStartOffset).toBe(6)
    log.clean(spec({ retentionBytes: 250 }), 1000)
    expect(view(log).map((v) => v.split(':')[0])).toEqual(['8', '9'])
  })

  it('reads from a removed offset at the next surviving record', () => {
    const log = new PartitionLog('t', 0)
    for (let i = 0; i < 5; i++) log.append(rec(`k${i % 2}`, String(i)), 0)
    log.clean(spec({ cleanupPolicy: 'compact' }), 0)
    expect(log.read(0, 10).map((r) => r.offset)).toEqual(['3', '4'])
    expect(log.read(4, 10).map((r) => r.offset)).toEqual(['4'])
    expect(log.read(5, 10)).toEqual([])
  })
})
