import { fileURLToPath } from 'node:url'
import { RuleTester } from '@typescript-eslint/rule-tester'
import { afterAll, describe, it } from 'vitest'

RuleTester.afterAll = afterAll
RuleTester.describe = describe
RuleTester.it = it
RuleTester.itOnly = it.only
RuleTester.itSkip = it.skip
RuleTester.describeSkip = describe.skip

export const fixtures = fileURLToPath(new URL('../fixtures/rule-tester/', import.meta.url))

/** Cases are linted as fixtures/rule-tester/file.ts, type-checked against the real @keyed/sdk types. */
// Rules are passed `as never`: rule-tester 8.72 brings its own @typescript-eslint/utils, whose RuleModule type differs only nominally.
export const ruleTester = new RuleTester({
  languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: fixtures } },
})

/** For a case compiled without strictNullChecks. */
export const nonStrict = {
  filename: 'nonstrict.ts',
  languageOptions: { parserOptions: { project: './tsconfig.nonstrict.json', tsconfigRootDir: fixtures } },
} as const

export const file = 'file.ts'

/** The imports every case starts with. */
export const header = "import { orders, profiles, accounts, clicks, regions, producer, client } from './topics.js'\n"
