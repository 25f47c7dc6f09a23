import { readFileSync } from 'node:fs'
import type { TSESLint } from '@typescript-eslint/utils'
import type { ESLint, Linter, Rule } from 'eslint'
import { configsFor } from './configs.js'
import type { KeyedRuleDocs } from './create-rule.js'
import noConstantKey from './rules/no-constant-key.js'
import noNullKeyOnOrderedTopic from './rules/no-null-key-on-ordered-topic.js'
import noReorderingProducer from './rules/no-reordering-producer.js'
import noTombstoneOnUncompactedTopic from './rules/no-tombstone-on-uncompacted-topic.js'
import noUnstableKey from './rules/no-unstable-key.js'

const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string
  version: string
}

export const rules = {
  'no-null-key-on-ordered-topic': noNullKeyOnOrderedTopic,
  'no-tombstone-on-uncompacted-topic': noTombstoneOnUncompactedTopic,
  'no-unstable-key': noUnstableKey,
  'no-constant-key': noConstantKey,
  'no-reordering-producer': noReorderingProducer,
} satisfies Record<string, TSESLint.RuleModule<string, readonly unknown[], KeyedRuleDocs>>

export type RuleName = keyof typeof rules

/** Typed with ESLint's own types, so it fits `defineConfig` and `plugins: { keyed }` in a typed eslint.config.ts. */
export interface KeyedPlugin extends ESLint.Plugin {
  meta: { name: string; version: string }
  rules: Record<RuleName, Rule.RuleModule>
  configs: { recommended: Linter.Config; strict: Linter.Config }
}

// typescript-eslint's RuleModule and ESLint's differ only in their context types; the objects are the same.
const plugin: KeyedPlugin = {
  meta: { name, version },
  rules: rules as unknown as KeyedPlugin['rules'],
  configs: {} as KeyedPlugin['configs'],
}

plugin.configs = configsFor(
  plugin,
  Object.fromEntries(Object.entries(rules).map(([rule, module]) => [rule, module.meta.docs])),
)

export default plugin
