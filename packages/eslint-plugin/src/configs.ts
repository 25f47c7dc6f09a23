import parser from '@typescript-eslint/parser'
import type { ESLint, Linter } from 'eslint'
import type { KeyedRuleDocs } from './create-rule.js'

/**
 * A whole config, so `export default [keyed.configs.recommended]` works alone: TypeScript files, typescript-eslint's
 * parser and its project service (the rules read topic designs from types), the plugin and its rules.
 */
function config(name: string, plugin: ESLint.Plugin, rules: Linter.RulesRecord): Linter.Config {
  return {
    name,
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    // The parser's own types are typescript-eslint's; ESLint's Linter.Parser describes the same object.
    languageOptions: { parser: parser as Linter.Parser, parserOptions: { projectService: true } },
    plugins: { keyed: plugin },
    rules,
  }
}

/**
 * The configs, built from each rule's docs: `recommended` holds the rules flagged `recommended`, with their default
 * options; `strict` holds every rule, with its `strictOptions` when it has some.
 */
export function configsFor(
  plugin: ESLint.Plugin,
  docs: Record<string, KeyedRuleDocs | undefined>,
): { recommended: Linter.Config; strict: Linter.Config } {
  const entries = Object.entries(docs).map(([rule, d]) => [`keyed/${rule}`, d] as const)
  return {
    recommended: config(
      'keyed/recommended',
      plugin,
      Object.fromEntries(entries.filter(([, d]) => d?.recommended === true).map(([rule]) => [rule, 'error'])),
    ),
    strict: config(
      'keyed/strict',
      plugin,
      Object.fromEntries(
        entries.map(([rule, d]) => [rule, d?.strictOptions ? ['error', ...d.strictOptions] : 'error']),
      ),
    ),
  }
}
