// Lints the whole repository with type information; the keyed plugin checks the key designs in examples/.
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

const keyed = await import('@keyed/eslint-plugin').then(
  (module) => module.default,
  (cause) => {
    throw new Error(
      'eslint.config.js loads @keyed/eslint-plugin from its dist/: build it first (npx turbo run build --filter=@keyed/eslint-plugin); `npm run lint` does.',
      { cause },
    )
  },
)

/** The type-checked rules that find bugs (lost promises, awaited non-promises) rather than style; cheap once the program exists. */
const typeCheckedLite = {
  '@typescript-eslint/await-thenable': 'error',
  '@typescript-eslint/no-array-delete': 'error',
  '@typescript-eslint/no-base-to-string': 'error',
  '@typescript-eslint/no-duplicate-type-constituents': 'error',
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-for-in-array': 'error',
  '@typescript-eslint/no-implied-eval': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  '@typescript-eslint/prefer-promise-reject-errors': 'error',
}

export default defineConfig([
  globalIgnores(['**/dist/', '**/.turbo/', '**/coverage/', 'packages/eslint-plugin/fixtures/', 'packaging/app/']),
  {
    // scripts/*.mjs are plain JavaScript checked with // @ts-check (see scripts/kafka-probe.mjs for why).
    files: ['**/*.ts', 'scripts/**/*.mjs'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['packages/*/vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      ...typeCheckedLite,
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
    },
  },
  {
    files: ['examples/**/*.ts'],
    extends: [keyed.configs.recommended],
  },
])
