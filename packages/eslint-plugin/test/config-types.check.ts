// Compiled by typecheck only: the configs and the plugin fit ESLint's own config types, as a user's eslint.config.ts needs.
import { defineConfig } from 'eslint/config'
import type { ESLint, Linter } from 'eslint'
import plugin from '../src/index.js'

export const extended = defineConfig([
  { files: ['**/*.ts'], extends: [plugin.configs.recommended] },
  plugin.configs.strict,
])
export const config: Linter.Config = plugin.configs.recommended
export const registered: Linter.Config = {
  plugins: { keyed: plugin },
  rules: { 'keyed/no-constant-key': ['error', { checkSingleSends: true }] },
}
export const asPlugin: ESLint.Plugin = plugin
