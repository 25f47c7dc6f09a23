import { ESLintUtils } from '@typescript-eslint/utils'

export interface KeyedRuleDocs {
  /** In `configs.recommended`; every rule is in `configs.strict`. The configs are built from this flag. */
  recommended: boolean
  /** The options `configs.strict` sets (recommended uses the defaults). */
  strictOptions?: readonly unknown[]
  requiresTypeChecking: true
}

export const DOCS_BASE = 'https://github.com/keyed-dev/keyed/blob/main/packages/eslint-plugin/docs/rules/'

export const createRule = ESLintUtils.RuleCreator<KeyedRuleDocs>((name) => `${DOCS_BASE}${name}.md`)
