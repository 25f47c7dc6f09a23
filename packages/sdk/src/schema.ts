import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { SchemaIssueDetail } from './errors.js'

export type { StandardSchemaV1 }

export function isStandardSchema(x: unknown): x is StandardSchemaV1 {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && '~standard' in x
}

export type ValidationOutcome = { ok: true; value: unknown } | { ok: false; issues: SchemaIssueDetail[] }

export function toOutcome(result: StandardSchemaV1.Result<unknown>): ValidationOutcome {
  if (result.issues) {
    return {
      ok: false,
      issues: result.issues.map((i) => ({
        message: i.message,
        path: (i.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)),
      })),
    }
  }
  return { ok: true, value: result.value }
}

/** Validates synchronously when the schema does, so the hot path allocates no promise. */
export function validate(schema: StandardSchemaV1, value: unknown): ValidationOutcome | Promise<ValidationOutcome> {
  const result = schema['~standard'].validate(value)
  return result instanceof Promise ? result.then(toOutcome) : toOutcome(result)
}
