import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import plugin from '../src/index.js'
import parser from '@typescript-eslint/parser'
import { configsFor } from '../src/configs.js'
import { DOCS_BASE, type KeyedRuleDocs } from '../src/create-rule.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; version: string }

describe('the plugin object', () => {
  it('names itself with the package name and version', () => {
    expect(plugin.meta).toEqual({ name: pkg.name, version: pkg.version })
  })

  it('builds recommended from the rules flagged recommended and strict from every rule with its strict options', () => {
    const { recommended, strict } = plugin.configs
    const flagged = Object.entries(plugin.rules).filter(([, r]) => (r.meta?.docs as KeyedRuleDocs).recommended)
    expect(Object.keys(recommended.rules ?? {}).sort()).toEqual(flagged.map(([r]) => `keyed/${r}`).sort())
    expect(Object.values(recommended.rules ?? {}).every((level) => level === 'error')).toBe(true)
    expect(Object.keys(strict.rules ?? {}).sort()).toEqual(
      Object.keys(plugin.rules)
        .map((r) => `keyed/${r}`)
        .sort(),
    )
    expect(strict.rules?.['keyed/no-constant-key']).toEqual(['error', { checkSingleSends: true }])
    expect(recommended.plugins?.keyed).toBe(plugin)
  })

  it('leaves a rule not flagged recommended out of recommended, but not out of strict', () => {
    const { recommended, strict } = configsFor(plugin, {
      'always-on': { recommended: true, requiresTypeChecking: true },
      'opt-in': { recommended: false, requiresTypeChecking: true, strictOptions: [{ everywhere: true }] },
    })
    expect(recommended.rules).toEqual({ 'keyed/always-on': 'error' })
    expect(strict.rules).toEqual({ 'keyed/always-on': 'error', 'keyed/opt-in': ['error', { everywhere: true }] })
  })

  it('makes each config whole: TypeScript files, the typescript-eslint parser with its project service', () => {
    for (const config of [plugin.configs.recommended, plugin.configs.strict]) {
      expect(config.files).toEqual(['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'])
      expect(config.languageOptions?.parser).toBe(parser)
      expect(config.languageOptions?.parserOptions).toEqual({ projectService: true })
    }
  })

  it('words findings on raw kafkajs code for kafkajs users, without keyed errors or keyed declarations', () => {
    const kafkajsMessages = Object.values(plugin.rules).flatMap((rule) =>
      Object.entries(rule.meta?.messages ?? {}).filter(([id]) => id.startsWith('kafkajs')),
    )
    expect(kafkajsMessages.length).toBeGreaterThanOrEqual(6)
    for (const [id, text] of kafkajsMessages) {
      expect(text, id).toMatch(/kafkajs/)
      expect(text, id).not.toMatch(/keyed|MissingKeyError|ReorderingProducerError|defineTopic|ordering: 'none'/)
    }
  })

  it('documents every rule with wrong and right examples, where meta.docs.url points', () => {
    for (const [name, rule] of Object.entries(plugin.rules)) {
      expect(rule.meta?.docs?.url).toBe(`${DOCS_BASE}${name}.md`)
      const doc = `${root}docs/rules/${name}.md`
      expect(existsSync(doc), doc).toBe(true)
      const text = readFileSync(doc, 'utf8')
      expect(text).toContain(`# keyed/${name}`)
      expect(text).toMatch(/## Wrong/)
      expect(text).toMatch(/## Right/)
      // The doc says what the flag says, so the configs and the docs cannot disagree.
      const docs = rule.meta?.docs as KeyedRuleDocs
      expect(text.includes('In the recommended config'), `${name}: docs vs meta.docs.recommended`).toBe(
        docs.recommended,
      )
      if (docs.strictOptions) expect(text, `${name}: docs name what strict changes`).toMatch(/strict config/)
    }
  })
})
