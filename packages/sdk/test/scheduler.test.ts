import { describe, expect, it } from 'vitest'
import type { IncomingRecord, PartitionBatch } from '../src/backend/index.js'
import { KeyScheduler } from '../src/consumer/scheduler.js'
import { raw } from './scripted-backend.js'

const batchOf = (partition: number, keys: Array<string | null>, active = () => true): PartitionBatch => ({
  topic: 't',
  partition,
  records: keys.map((k, i) => raw({ partition, offset: String(i), key: k === null ? null : Buffer.from(k) })),
  isActive: active,
  heartbeat: async () => {},
})

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1))

/** A scheduler whose records finish when the test says so; it checks the bounds on every start. */
function harness(concurrency: number, maxBuffered: number) {
  const pending = new Map<IncomingRecord, (done: boolean) => void>()
  const started: string[] = []
  const busyKeys = new Set<string>()
  const problems: string[] = []
  let open = true
  const scheduler: KeyScheduler = new KeyScheduler(concurrency, maxBuffered, {
    run(record) {
      const key = `${record.partition}/${record.key ? Buffer.from(record.key).toString() : `null@${record.offset}`}`
      if (busyKeys.has(key)) problems.push(`${key} twice at once`)
      if (scheduler.running > concurrency) problems.push(`${scheduler.running} running`)
      if (scheduler.waiting > maxBuffered) problems.push(`${scheduler.waiting} waiting`)
      busyKeys.add(key)
      started.push(`${record.partition}:${record.offset}`)
      return new Promise<boolean>((resolve) =>
        pending.set(record, (done) => {
          busyKeys.delete(key)
          pending.delete(record)
          resolve(done)
        }),
      )
    },
    open: () => open,
  })
  const finish = async (partition: number, offset: string, done = true) => {
    const record = [...pending.keys()].find((r) => r.partition === partition && r.offset === offset)
    if (!record)
      throw new Error(
        `${partition}:${offset} is not running (running: ${[...pending.keys()].map((r) => `${r.partition}:${r.offset}`).join(' ')})`,
      )
    pending.get(record)!(done)
    await tick()
  }
  const finishAll = async () => {
    while (pending.size) {
      for (const r of [...pending.keys()]) pending.get(r)?.(true)
      await tick()
    }
  }
  return { scheduler, started, problems, finish, finishAll, close: () => (open = false) }
}

describe('key scheduler', () => {
  it('runs different keys side by side up to the concurrency, one record per key at a time in offset order', async () => {
    const s = harness(3, 100)
    const job = s.scheduler.submit(batchOf(0, ['a', 'a', 'b', 'c', 'd', 'b']), false)
    await tick()
    expect(s.started).toEqual(['0:0', '0:2', '0:3'])
    await s.finish(0, '0')
    // Keys take turns: d was waiting before a's second record became ready.
    expect(s.started).toEqual(['0:0', '0:2', '0:3', '0:4'])
    await s.finishAll()
    expect(await job.done).toMatchObject({ offset: '5' })
    expect(s.started.indexOf('0:1')).toBeGreaterThan(s.started.indexOf('0:0'))
    expect(s.started.indexOf('0:5')).toBeGreaterThan(s.started.indexOf('0:2'))
    expect(s.started).toHaveLength(6)
    expect(s.problems).toEqual([])
  })

  it('ends the finished prefix at the first record that did not finish, whatever finished after it', async () => {
    const s = harness(4, 100)
    const job = s.scheduler.submit(batchOf(0, ['a', 'b', 'c', 'd']), false)
    await tick()
    await s.finish(0, '0')
    await s.finish(0, '2')
    await s.finish(0, '3')
    expect(job.prefixEnd()).toMatchObject({ offset: '0' })
    expect(job.inFlight().map((r) => r.offset)).toEqual(['1'])
    await s.finish(0, '1', false)
    expect(await job.done).toMatchObject({ offset: '0' })
  })

  it('starts nothing more of a batch whose partition was lost, and settles once its records in flight end', async () => {
    let active = true
    const s = harness(2, 100)
    const job = s.scheduler.submit(
      batchOf(0, ['a', 'b', 'c', 'd'], () => active),
      false,
    )
    await tick()
    active = false
    await s.finish(0, '0')
    await s.finish(0, '1')
    expect(s.started).toEqual(['0:0', '0:1'])
    expect(await job.done).toMatchObject({ offset: '1' })
    expect(s.scheduler.waiting).toBe(0)
  })

  it('holds at most maxBuffered records accepted and not started; a batch that does not fit waits for room', async () => {
    const s = harness(2, 3)
    const jobs = [0, 1, 2].map((p) => s.scheduler.submit(batchOf(p, ['a', 'b', 'c', 'd', 'e']), false))
    await tick()
    expect(s.scheduler.waiting).toBeLessThanOrEqual(3)
    // Partition 2's batch got no room yet: everything so far is partitions 0 and 1.
    expect(s.started.every((id) => !id.startsWith('2:'))).toBe(true)
    await s.finishAll()
    await Promise.all(jobs.map((j) => j.done))
    expect(s.started).toHaveLength(15)
    expect(s.problems).toEqual([])
  })

  it('runs keyless records of an unordered topic side by side, and treats keyless records of a per-key topic as one key', async () => {
    const unordered = harness(4, 100)
    unordered.scheduler.submit(batchOf(0, [null, null, null]), true)
    await tick()
    expect(unordered.started).toHaveLength(3)
    const ordered = harness(4, 100)
    ordered.scheduler.submit(batchOf(0, [null, null, null]), false)
    await tick()
    expect(ordered.started).toHaveLength(1)
  })

  it('gives a slot back while a retry waits its backoff, and takes one again before new records', async () => {
    let resumed = false
    const order: string[] = []
    const scheduler = new KeyScheduler(1, 100, {
      async run(record, _batch, pause) {
        order.push(`start ${record.offset}`)
        if (record.offset === '0') {
          await pause(20)
          resumed = true
          order.push('retry 0')
        } else await new Promise((r) => setTimeout(r, 10)) // five of these take far longer than the backoff, even on a loaded machine
        return true
      },
      open: () => true,
    })
    const job = scheduler.submit(batchOf(0, ['slow', 'x', 'y', 'z', 'w', 'v']), false)
    await job.done
    expect(resumed).toBe(true)
    // With one slot, the others ran while record 0 waited; it came back as soon as its backoff ended.
    expect(order.indexOf('start 1')).toBeLessThan(order.indexOf('retry 0'))
    expect(order.indexOf('retry 0')).toBeLessThan(order.length - 1)
  })
})
