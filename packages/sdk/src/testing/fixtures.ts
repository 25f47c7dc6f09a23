import type { StandardSchemaV1 } from '../schema.js'

/** A hand-written Standard Schema of an object with one number field, so the suite needs no schema library. */
export function numberFieldSchema<F extends string>(field: F): StandardSchemaV1<Record<F, number>> {
  return {
    '~standard': {
      version: 1,
      vendor: 'keyed-conformance',
      validate: (v: unknown) =>
        typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[field] === 'number'
          ? { value: v as Record<F, number> }
          : { issues: [{ message: `expected { ${field}: number }`, path: [field] }] },
    },
  }
}

export type Seq = { seq: number }
export const orderSchema: StandardSchemaV1<Seq> = numberFieldSchema('seq')

/** The last offset sent to each partition, as Harness.readAll wants it. */
export const lastOffsets = (metadata: readonly { partition: number; offset: string }[]) => {
  const out = new Map<number, string>()
  for (const m of metadata) out.set(m.partition, m.offset)
  return out
}
