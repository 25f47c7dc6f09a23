import type { OutgoingRecord } from './contract.js'

/**
 * What a failed send's error adds when its records spanned several partitions: backends append each partition's
 * records whole or not at all, but on their own, so some of them may be in the log and sending again may duplicate
 * them. Empty for one partition. One wording for every adapter.
 */
export function partitionSpread(records: readonly OutgoingRecord[]): string {
  const partitions = new Set<string>()
  for (const r of records) partitions.add(`${r.topic}\u0000${r.partition}`)
  return partitions.size > 1
    ? ` over ${partitions.size} partitions (each appended whole or not at all: some may be in the log, so sending again may duplicate them)`
    : ''
}
