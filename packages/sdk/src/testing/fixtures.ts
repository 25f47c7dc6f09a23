import type { StandardSchemaV1 } from '../schema.js'

export type Seq = { seq: number }

/** A hand-written Standard Schema, so the suite needs no schema library. */
export const orderSchema: StandardSchemaV1<Seq> = {
  '~standard': {
    version: 1,
    vendor: 'keyed-conformance',
    validate: (v: unknown) =>
      typeof v === 'object' && v !== null && typeof (v as { seq?: unknown }).seq === 'number'
        ? { value: v as Seq }
        : { issues: [{ message: 'expected { seq: number }', path: ['seq'] }] },
  },
}

/** The last offset sent to each partition, as Harness.readAll wants it. */
export const lastOffsets = (metadata: readonly { partition: number; offset: string }[]) => {
  const out = new Map<number, string>()
  for (const m of metadata) out.set(m.partition, m.offset)
  return out
}
