import { UsageError } from '../errors.js'
import { planPartitions, type PartitionPlan } from '../keys/plan.js'
import type { Output } from '../output.js'
import { num, pct, shownKey, table } from '../render.js'
import type { KeySource } from './key-source.js'

export function planCommand(input: KeySource, to: number, sampleSize: number, out: Output): void {
  if (to === input.partitions) throw new UsageError(`--to ${to} is the current partition count; nothing would change.`)
  const plan = planPartitions(input.counts, input.partitions, to, sampleSize, input.backend)
  out.result({ source: input.source, ...plan }, () => text(plan))
}

function text(p: PartitionPlan): string {
  const lines = [
    `${p.from} → ${p.to} partitions: ${num(p.movedKeys)} of ${num(p.distinctKeys)} keys (${pct(p.movedKeyShare)}) and ${num(p.movedRecords)} of ${num(p.records)} keyed records (${pct(p.movedRecordShare)}) would change partition`,
  ]
  if (p.sample.length > 0) {
    lines.push(
      '',
      'moved keys (sample):',
      table(
        ['key', 'records', 'from', 'to'],
        p.sample.map((k) => [shownKey(k.key), num(k.records), String(k.from), String(k.to)]),
        [1, 2, 3],
      ),
    )
  }
  lines.push('', `ordering: ${p.ordering}`)
  if (p.alternatives.length > 0) {
    lines.push(
      '',
      'counts that move fewer keys:',
      table(
        ['partitions', 'keys moved', 'records moved'],
        p.alternatives.map((a) => [String(a.partitions), pct(a.movedKeyShare), pct(a.movedRecordShare)]),
        [0, 1, 2],
      ),
    )
  }
  return lines.join('\n')
}
