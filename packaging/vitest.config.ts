import { defineConfig } from 'vitest/config'

// One scratch install serves every check; it takes a while on a cold npm cache.
export default defineConfig({ test: { hookTimeout: 240_000, testTimeout: 120_000 } })
