import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import parser from '@typescript-eslint/parser'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import plugin from '../src/index.js'

const dir = fileURLToPath(new URL('../fixtures/lint-fail/', import.meta.url))

/** The findings each fixture line declares with a trailing `// expect: rule-id`. */
function expected(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) =>
      readFileSync(dir + file, 'utf8')
        .split('\n')
        .flatMap((line, i) => [...line.matchAll(/expect: ([a-z-]+)/g)].map((m) => `${file}:${i + 1} keyed/${m[1]}`)),
    )
    .sort()
}

describe('the deliberately wrong example', () => {
  it('fails the recommended config with exactly the expected findings', async () => {
    const eslint = new ESLint({
      cwd: dir,
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ['**/*.ts'],
          languageOptions: { parser, parserOptions: { projectService: true, tsconfigRootDir: dir } },
        },
        plugin.configs.recommended,
        {
          rules: {
            'keyed/no-null-key-on-ordered-topic': ['error', { orderedTopics: ['orders', 'payments.*'] }],
            'keyed/no-reordering-producer': ['error', { orderedTopics: ['orders', 'payments.*'] }],
          },
        },
      ],
    })
    const results = await eslint.lintFiles(['*.ts'])
    const fatal = results.flatMap((r) => r.messages.filter((m) => m.fatal || !m.ruleId))
    expect(fatal).toEqual([])
    const found = results
      .flatMap((r) => r.messages.map((m) => `${r.filePath.slice(dir.length)}:${m.line} ${m.ruleId}`))
      .sort()
    expect(found).toEqual(expected())
    // The markers themselves cannot silently vanish: every rule is exercised, 12 findings in all.
    const perRule = Object.fromEntries(
      Object.keys(plugin.rules).map((r) => [r, found.filter((f) => f.endsWith(`keyed/${r}`)).length]),
    )
    expect(perRule).toEqual({
      'no-null-key-on-ordered-topic': 4,
      'no-tombstone-on-uncompacted-topic': 2,
      'no-unstable-key': 3,
      'no-constant-key': 1,
      'no-reordering-producer': 2,
    })
    expect(results.reduce((n, r) => n + r.errorCount, 0)).toBe(12)
  })
})
