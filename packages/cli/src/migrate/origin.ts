import type { IncomingRecord } from '@keyed/sdk/backend'
import { compareOffsets } from '../offsets.js'

/** Header of the last record a batch copied into each target partition: the source partition and offset it came from ("3/1042"). */
export const ORIGIN_HEADER = 'keyed-migrate-origin'

export function originOf(record: IncomingRecord): { partition: number; offset: string } | undefined {
  const origin = record.headers[ORIGIN_HEADER]
  const slash = origin?.indexOf('/') ?? -1
  if (origin === undefined || slash < 0) return undefined
  return { partition: Number(origin.slice(0, slash)), offset: origin.slice(slash + 1) }
}

/**
 * What is already in the target, per source partition and target partition: the last source offset copied there.
 * A copy of one source partition's batch is one send, which a backend makes atomic per target partition but not across
 * them; so after a crash between the send and the commit, the redelivered batch is in some target partitions and not in
 * others. Each (source, target) pair is written in source order, so a record at or before that pair's last copied
 * offset is there already and is skipped: the resumed copy neither loses nor doubles a record.
 */
export class CopiedUpTo {
  private readonly last = new Map<string, string>()

  private static id(source: number, target: number): string {
    return `${source}>${target}`
  }

  /** Records a copy (or one found in the target); records must come in offset order per pair. */
  note(source: number, target: number, offset: string): void {
    this.last.set(CopiedUpTo.id(source, target), offset)
  }

  has(source: number, target: number, offset: string): boolean {
    const last = this.last.get(CopiedUpTo.id(source, target))
    return last !== undefined && compareOffsets(offset, last) <= 0
  }

  get size(): number {
    return this.last.size
  }
}
