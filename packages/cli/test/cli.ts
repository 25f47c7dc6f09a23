import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'

/** The built binary, run as a user runs it: `node dist/bin.js …` (what `npx keyed` starts). */
/** The environment without KEYED_BACKEND, so --backend (default memory) alone decides. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'KEYED_BACKEND'))

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

export interface Run {
  status: number | null
  stdout: string
  stderr: string
}

export function keyed(args: readonly string[], input?: string): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 120_000, env })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

export function keyedAsync(args: readonly string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, ...args], { env })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Run>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })))
  return { child, done }
}

/** The JSON a --json run printed, checked against the schema. */
export function json<S extends z.ZodType>(run: Run, schema: S): z.infer<S> {
  if (run.status !== 0 && run.status !== 2) throw new Error(`keyed exited ${String(run.status)}:\n${run.stderr}`)
  return schema.parse(JSON.parse(run.stdout))
}

export function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keyed-cli-')), name)
  writeFileSync(file, content)
  return file
}

export const unique = (what: string) =>
  `cli-${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`

// The --json shapes a script relies on.
const share = z.number().min(0).max(1)
export const analysisSchema = z
  .object({
    source: z.object({ kind: z.enum(['file', 'stdin', 'topic']), name: z.string(), sample: z.number().optional() }),
    partitions: z.number().int().positive(),
    records: z.number().int().nonnegative(),
    keyless: z.number().int().nonnegative(),
    keylessShare: share,
    distinctKeys: z.number().int().nonnegative(),
    perPartition: z.array(
      z.object({ partition: z.number().int(), records: z.number().int(), distinctKeys: z.number().int(), share }),
    ),
    skew: z.object({ maxOverMean: z.number(), coefficientOfVariation: z.number(), hottestPartition: z.number().int() }),
    hotKeys: z.array(z.object({ key: z.string(), records: z.number().int(), share, partition: z.number().int() })),
    verdict: z.object({ level: z.enum(['ok', 'warn', 'bad']), summary: z.string(), suggestion: z.string() }),
    misplacedRecords: z.number().int().nonnegative(),
    failOnSkew: z.object({ threshold: z.number(), failed: z.boolean() }).optional(),
  })
  .strict()

export const planSchema = z
  .object({
    source: analysisSchema.shape.source,
    from: z.number().int(),
    to: z.number().int(),
    distinctKeys: z.number().int(),
    records: z.number().int(),
    movedKeys: z.number().int(),
    movedKeyShare: share,
    movedRecords: z.number().int(),
    movedRecordShare: share,
    sample: z.array(
      z.object({ key: z.string(), records: z.number().int(), from: z.number().int(), to: z.number().int() }),
    ),
    alternatives: z.array(z.object({ partitions: z.number().int(), movedKeyShare: share, movedRecordShare: share })),
    ordering: z.string(),
  })
  .strict()

export const lagSchema = z
  .object({
    groupId: z.string(),
    partitions: z.array(
      z
        .object({
          topic: z.string(),
          partition: z.number().int(),
          committed: z.string().optional(),
          end: z.string(),
          lag: z.number().int().nonnegative(),
        })
        .strict(),
    ),
    totalLag: z.number().int().nonnegative(),
  })
  .strict()

export const migrateSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    partitions: z.object({ from: z.number().int(), to: z.number().int() }),
    groupId: z.string(),
    created: z.boolean(),
    copied: z.number().int(),
    skipped: z.number().int(),
    seconds: z.number(),
    recordsPerSecond: z.number(),
    settings: z.object({ name: z.string(), partitions: z.number().int(), cleanupPolicy: z.string() }).passthrough(),
    verification: z
      .object({
        ok: z.boolean(),
        keys: z.number().int(),
        sourceRecords: z.number().int(),
        targetRecords: z.number().int(),
        mismatchedKeys: z.number().int(),
        examples: z.array(z.string()),
        mode: z.enum(['every-record', 'latest-per-key']),
      })
      .nullable(),
  })
  .strict()

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string(), retriable: z.boolean() }) })
  .strict()
