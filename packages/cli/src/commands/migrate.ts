import type { Backend, TopicSpec } from '@keyed/sdk/backend'
import { ConfigError } from '@keyed/sdk/backend'
import { CheckFailed, TargetNotEmpty, UsageError } from '../errors.js'
import { compactedSpec, copyTopic } from '../migrate/copy.js'
import { verifyCopy, type Verification } from '../migrate/verify.js'
import type { Output } from '../output.js'
import { progress } from '../progress.js'
import { num } from '../render.js'

export interface MigrateOptions {
  from: string
  to: string
  partitions: number
  group?: string
  batch: number
  verify: boolean
}

/**
 * An existing target is resumed only when it is this migration's: empty, or the migration's group has a position in
 * the source (an interrupted run committed some of the copy). One holding records with no such position is someone
 * else's topic (or a migration under another --group), and copying into it would mix the source into its records.
 */
async function refuseForeignTarget(backend: Backend, from: string, to: string, groupId: string): Promise<void> {
  const ends = await backend.endOffsets!(to)
  if (!ends.some((e) => e.offset !== '0' && e.offset !== '0-0')) return
  const rows = await backend.committedOffsets!(groupId, [from])
  if (rows.some((r) => r.committed !== undefined)) return
  throw new TargetNotEmpty(
    `Topic '${to}' already holds records and group '${groupId}' has no position in '${from}', so this is not a resume of this migration: nothing was copied. ` +
      'Migrate to a new name, or delete the target first (also if a migration into it stopped before its first commit); to resume one started with --group, pass the same --group.',
  )
}

export async function migrateCommand(
  backend: Backend,
  display: string,
  options: MigrateOptions,
  out: Output,
): Promise<void> {
  const { from, to, partitions } = options
  for (const method of ['topicSpec', 'committedOffsets', 'endOffsets', 'reader'] as const) {
    if (typeof backend[method] !== 'function')
      throw new ConfigError(`The ${backend.name} backend cannot migrate topics (it has no ${method}()).`)
  }
  if (from === to) throw new UsageError('The source and the target of a migration must be different topics.')
  const source = await backend.topicSpec!(from)
  if (!source) throw new UsageError(`Topic '${from}' does not exist on ${display}. Check the name and --backend.`)
  const existing = await backend.describeTopic(to)
  if (existing && (existing.partitions !== partitions || existing.cleanupPolicy !== source.cleanupPolicy)) {
    throw new UsageError(
      `Topic '${to}' exists with ${existing.partitions} partitions and cleanup policy '${existing.cleanupPolicy}', not ${partitions} and '${source.cleanupPolicy}'. ` +
        'Migrate to a new name, or delete it first.',
    )
  }
  const groupId = options.group ?? `keyed-migrate.${from}.${to}`
  if (existing) await refuseForeignTarget(backend, from, to, groupId)
  const spec: TopicSpec = { ...source, name: to, partitions }
  if (!existing) await backend.createTopic(spec)
  const started = Date.now()
  const bar = progress(`copying ${from} → ${to}`, 0)
  let outcome
  try {
    outcome = await copyTopic({
      backend,
      source,
      to,
      partitions,
      groupId,
      batch: options.batch,
      created: !existing,
      onProgress: (done, remaining) => bar.update(done, done + remaining),
    })
  } finally {
    bar.stop()
  }
  const seconds = (Date.now() - started) / 1000
  let verification: Verification | undefined
  if (options.verify)
    verification = await verifyCopy(backend, from, to, partitions, outcome.sourceEnds, compactedSpec(source))
  const result = {
    from,
    to,
    partitions: { from: source.partitions, to: partitions },
    groupId,
    created: !existing,
    copied: outcome.copied,
    skipped: outcome.skipped,
    seconds,
    /** Over the copy itself: from joining the group to lag 0. */
    recordsPerSecond: Math.round(outcome.copied / Math.max(outcome.copyMs / 1000, 0.001)),
    settings: spec,
    verification: verification ?? null,
  }
  out.result(result, () => {
    const lines = [
      `${existing ? 'resumed' : 'created'} '${to}' (${partitions} partitions, cleanup.policy ${source.cleanupPolicy}) from '${from}' (${source.partitions} partitions)`,
      `copied ${num(outcome.copied)} records in ${seconds.toFixed(1)} s (${num(result.recordsPerSecond)}/s)${outcome.skipped ? `, skipped ${num(outcome.skipped)} already in the target` : ''}; position kept by group '${groupId}'`,
    ]
    if (verification) {
      const v = verification
      lines.push(
        v.ok
          ? `verified: ${num(v.keys)} keys, ${num(v.sourceRecords)} source records, ${num(v.targetRecords)} target records, every key complete and in source order${v.mode === 'latest-per-key' ? ' (compacted: latest record per key compared)' : ''}`
          : `verification FAILED: ${v.mismatchedKeys} keys differ\n  ${v.examples.join('\n  ')}`,
      )
    }
    return lines.join('\n')
  })
  if (verification && !verification.ok)
    throw new CheckFailed(
      `the copy of '${from}' in '${to}' does not match: ${verification.examples[0] ?? 'see the report'}.`,
    )
}
