import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import plugin from '../src/index.js'
import { DOCS_BASE } from '../src/create-rule.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; version: string }

describe('the plugin object', () => {
  it('names itself with the package name and version', () => {
    expect(plugin.meta).toEqual({ name: pkg.name, version: pkg.version })
  })

  it('turns every rule on in recommended, under the keyed/ prefix, and registers itself', () => {
    const { recommended, strict } = plugin.configs
    expect(Object.keys(recommended.rules ?? {}).sort()).toEqual(Object.keys(plugin.rules).map((r) => `keyed/${r}`).sort())
    expect(Object.values(recommended.rules ?? {}).every((level) => level === 'error')).toBe(true)
    expect(recommended.plugins?.keyed).toBe(plugin)
    expect(strict.rules?.['keyed/no-constant-key']).toEqual(['error', { checkSingleSends: true }])
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
    }
  })
})
