// The packages as a user gets them: `npm pack` each one, install the tarballs into a scratch app outside the workspace
// (dependencies from the npm registry, through the npm cache), then compile, run, require and lint there, and run
// publint and arethetypeswrong on the tarballs themselves.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeBlock, markers } from './markdown.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = fileURLToPath(new URL('../app/', import.meta.url))
const packages = ['sdk', 'adapter-memory', 'adapter-kafka', 'adapter-redis', 'eslint-plugin', 'cli'] as const
const require = createRequire(import.meta.url)

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/** npm must not inherit the npm_* settings of the `npm test` that started this (workspace, prefix…). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

function run(command: string, args: readonly string[], cwd: string): Run {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 180_000 })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr + (result.error ? `\n${result.error.message}` : ''),
  }
}

function ok(result: Run, what: string): string {
  if (result.status !== 0)
    throw new Error(`${what} failed (exit ${String(result.status)}):\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

/** The version the workspace itself uses, so the scratch install resolves from the npm cache. */
function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version
}

function bin(pkg: string, name: string): string {
  const manifest = require.resolve(`${pkg}/package.json`)
  const { bin: bins } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }
  return join(manifest, '..', bins[name]!)
}

let work = ''
let app = ''
const tarballs = new Map<string, { file: string; files: string[] }>()

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'keyed-packaging-'))
  app = join(work, 'app')
  const packed = ok(
    run(
      'npm',
      ['pack', ...packages.flatMap((p) => ['--workspace', `packages/${p}`]), '--pack-destination', work, '--json'],
      root,
    ),
    'npm pack',
  )
  for (const entry of JSON.parse(packed) as { name: string; filename: string; files: { path: string }[] }[]) {
    tarballs.set(entry.name, { file: join(work, entry.filename), files: entry.files.map((f) => f.path) })
  }
  cpSync(fixture, app, { recursive: true })
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }, null, 2),
  )
  const registry = ['zod', 'typescript', '@types/node', 'eslint'].map((name) => `${name}@${workspaceVersion(name)}`)
  ok(
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...[...tarballs.values()].map((t) => t.file),
        ...registry,
      ],
      app,
    ),
    'npm install of the tarballs',
  )
  // README snippets, written as files of the app.
  writeFileSync(join(app, 'sdk-readme.ts'), codeBlock(readFileSync(`${root}packages/sdk/README.md`, 'utf8'), 'ts'))
  writeFileSync(
    join(app, 'memory-readme.ts'),
    codeBlock(readFileSync(`${root}packages/adapter-memory/README.md`, 'utf8'), 'ts'),
  )
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('npm pack', () => {
  it.each(packages)(
    '@keyed/%s ships its LICENSE, README, package.json, dist and the sources its maps point at',
    (pkg) => {
      const files = tarballs.get(`@keyed/${pkg}`)?.files ?? []
      expect(files).toEqual(
        expect.arrayContaining([
          'LICENSE',
          'README.md',
          'package.json',
          'dist/index.js',
          'dist/index.d.ts',
          'dist/index.js.map',
          'src/index.ts',
        ]),
      )
      expect(
        files.filter(
          (f) => !/^(LICENSE|README\.md|package\.json|(dist|src)\/.+)$/.test(f) || /\.test\.|\.tsbuildinfo$/.test(f),
        ),
      ).toEqual([])
      const map = JSON.parse(
        readFileSync(join(app, 'node_modules', '@keyed', pkg, 'dist', 'index.js.map'), 'utf8'),
      ) as { sources: string[] }
      expect(map.sources).toEqual(['../src/index.ts'])
    },
  )
})

describe('publint and arethetypeswrong on the tarballs', () => {
  it.each(packages)('publint (strict) has nothing to say about @keyed/%s', async (pkg) => {
    const data = readFileSync(tarballs.get(`@keyed/${pkg}`)!.file)
    const { messages, pkg: manifest } = await publint({
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer },
      strict: true,
    })
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, manifest) ?? m.code}`)).toEqual([])
  })

  // esm-only: the packages are ES modules. require() works on Node >= 20.19 (tested below), which attw 0.18 still
  // reports as "ESM (dynamic import only)"; node10 resolution ignores `exports` and is deprecated in TypeScript 6.
  it.each(packages)('attw --profile esm-only finds no problem in @keyed/%s', (pkg) => {
    // attw exits 1 on any problem its profile does not ignore.
    ok(
      run(
        process.execPath,
        [
          bin('@arethetypeswrong/cli', 'attw'),
          tarballs.get(`@keyed/${pkg}`)!.file,
          '--profile',
          'esm-only',
          '--format',
          'ascii',
        ],
        work,
      ),
      'attw',
    )
  })
})

describe('a scratch app with the tarballs installed', () => {
  it('compiles against the public types under strict TypeScript 6 (nodenext) without @types/node', () => {
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc')
    const files = ok(
      run(process.execPath, [tsc, '-p', 'tsconfig.public.json', '--listFiles'], app),
      'tsc -p tsconfig.public.json',
    ).split('\n')
    expect(files.filter((f) => f.includes('@types/node'))).toEqual([])
    expect(files.some((f) => f.endsWith('node_modules/@keyed/adapter-kafka/dist/options.d.ts'))).toBe(true)
  })

  it("compiles the README snippets, the public API and a CommonJS .cts file with Node's types", () => {
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc')
    ok(run(process.execPath, [tsc, '-p', 'tsconfig.json'], app), 'tsc -p tsconfig.json')
  })

  it("runs the SDK README's quick start end to end on the memory backend", () => {
    expect(ok(run(process.execPath, ['out/sdk-readme.js'], app), 'the SDK README snippet')).toContain('customer-1 200')
  })

  it('runs without @opentelemetry/api, an optional peer npm does not install: no span, no header, no load error', () => {
    expect(existsSync(join(app, 'node_modules', '@opentelemetry', 'api'))).toBe(false)
    const script = `
      import { createClient, defineTopic } from '@keyed/sdk'
      import { memory } from '@keyed/adapter-memory'
      const client = createClient({ backend: memory() })
      const topic = defineTopic('no-otel', { partitions: 2 })
      await client.producer().send(topic, { key: 'k', value: 1 })
      const got = await new Promise((resolve) =>
        client.consumer({ groupId: 'g' }).subscribe(topic, (m) => resolve(m.headers), { fromBeginning: true }))
      await client.close()
      console.log(JSON.stringify(got))`
    const out = ok(run(process.execPath, ['--input-type=module', '-e', script], app), 'a client without OpenTelemetry')
    expect(out.trim()).toBe('{}')
  })

  it('runs the adapter-memory README snippet', () => {
    ok(run(process.execPath, ['out/memory-readme.js'], app), 'the adapter-memory README snippet')
  })

  it('loads every package with require() from CommonJS', () => {
    const out = ok(run(process.execPath, ['out/require.cjs'], app), 'require() from out/require.cjs')
    expect(out.trim().split('\n')).toEqual([
      '@keyed/sdk createClient: function',
      '@keyed/sdk/backend assignPartitions: function',
      '@keyed/adapter-memory memory: function',
      '@keyed/adapter-kafka kafka: function',
      '@keyed/adapter-redis redis: function',
      '@keyed/eslint-plugin rules: object',
    ])
  })

  it("lints typed and unannotated files with the README's eslint.config.js one-liner, as written", () => {
    const readme = codeBlock(readFileSync(`${root}README.md`, 'utf8'), 'js', '## Lint')
    expect(readFileSync(`${root}packages/eslint-plugin/README.md`, 'utf8')).toContain(`\`\`\`js\n${readme}\`\`\``)
    const lint = join(app, 'lint')
    writeFileSync(join(lint, 'eslint.config.js'), readme)
    const result = run(
      process.execPath,
      [join(app, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--format', 'json', '.'],
      lint,
    )
    expect(result.stderr).toBe('')
    const findings = (
      JSON.parse(result.stdout) as {
        filePath: string
        messages: { ruleId: string | null; line: number; message: string }[]
      }[]
    ).flatMap((r) => r.messages.map((m) => `${r.filePath.slice(lint.length + 1)}:${m.line} ${m.ruleId ?? m.message}`))
    expect(findings.sort()).toEqual(markers(lint, ['src/topics.ts', 'src/plain.ts']))
  })
})
