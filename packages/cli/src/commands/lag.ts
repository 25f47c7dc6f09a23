import type { Backend, GroupPartitionOffset } from '@keyed/sdk/backend'
import { groupLag } from '@keyed/sdk/backend'
import type { Output } from '../output.js'
import { num, table } from '../render.js'
import { describeTopic } from './topics.js'

export async function lagCommand(
  backend: Backend,
  display: string,
  groupId: string,
  topic: string | undefined,
  out: Output,
): Promise<void> {
  if (topic !== undefined) await describeTopic(backend, display, topic)
  const { partitions, total } = await groupLag(backend, groupId, topic === undefined ? undefined : [topic])
  out.result({ groupId, partitions, totalLag: total }, () => text(groupId, topic, partitions, total))
}

function text(
  groupId: string,
  topic: string | undefined,
  rows: readonly GroupPartitionOffset[],
  total: number,
): string {
  if (rows.length === 0) return `group '${groupId}' has committed nothing${topic === undefined ? '' : ` in '${topic}'`}`
  return [
    table(
      ['topic', 'partition', 'committed', 'end', 'lag'],
      rows.map((r) => [r.topic, String(r.partition), r.committed ?? '-', r.end, num(r.lag)]),
      [1, 2, 3, 4],
    ),
    '',
    `group '${groupId}': total lag ${num(total)}${rows.some((r) => r.committed === undefined) ? " ('-': nothing committed; lag counts the records there)" : ''}`,
  ].join('\n')
}
