import { CheckFailed } from '../errors.js'
import { analyzeKeys, type KeyAnalysis } from '../keys/analyze.js'
import type { Output } from '../output.js'
import { bar, num, pct, shownKey, table } from '../render.js'
import type { KeySource } from './key-source.js'

export interface AnalyzeOptions {
  top: number
  failOnSkew?: number
}

export function analyzeCommand(input: KeySource, options: AnalyzeOptions, out: Output): void {
  const analysis = analyzeKeys(input.counts, input.partitions, options.top)
  const threshold = options.failOnSkew
  const failed = threshold !== undefined && analysis.skew.maxOverMean > threshold
  const result = {
    source: input.source,
    ...analysis,
    misplacedRecords: input.misplaced,
    ...(threshold !== undefined && { failOnSkew: { threshold, failed } }),
  }
  out.result(result, () => text(analysis, input))
  if (failed)
    throw new CheckFailed(
      `skew ${analysis.skew.maxOverMean.toFixed(2)} (max/mean) is above --fail-on-skew ${threshold}.`,
    )
}

function text(a: KeyAnalysis, input: KeySource): string {
  const { source } = input
  const from =
    source.kind === 'topic'
      ? `topic '${source.name}'${source.sample !== undefined ? ` (sample of ${num(source.sample)} records)` : ''}`
      : source.kind === 'stdin'
        ? 'stdin'
        : source.name
  const max = Math.max(...a.perPartition.map((p) => p.records))
  const lines = [
    `${num(a.records)} records, ${num(a.distinctKeys)} distinct keys from ${from}, over ${a.partitions} partitions (murmur2, as Kafka's Java client)`,
    '',
    table(
      ['partition', 'records', 'share', 'keys', ''],
      a.perPartition.map((p) => [
        String(p.partition),
        num(p.records),
        pct(p.share),
        num(p.distinctKeys),
        bar(p.records, max),
      ]),
      [0, 1, 2, 3],
    ),
    '',
    `skew: max/mean ${a.skew.maxOverMean.toFixed(2)}, coefficient of variation ${a.skew.coefficientOfVariation.toFixed(3)} (busiest: partition ${a.skew.hottestPartition})`,
    `keyless: ${num(a.keyless)} records (${pct(a.keylessShare)})`,
  ]
  if (input.misplaced > 0)
    lines.push(
      `misplaced: ${num(input.misplaced)} keyed records are not in the partition murmur2 gives their key (written with another partitioner)`,
    )
  if (a.hotKeys.length > 0) {
    lines.push(
      '',
      'hot keys:',
      table(
        ['key', 'records', 'share', 'partition'],
        a.hotKeys.map((k) => [shownKey(k.key), num(k.records), pct(k.share, 2), String(k.partition)]),
        [1, 2, 3],
      ),
    )
  }
  lines.push(
    '',
    `verdict: ${a.verdict.level.toUpperCase()}: ${a.verdict.summary}`,
    `suggestion: ${a.verdict.suggestion}`,
  )
  return lines.join('\n')
}
