import { defineConfig } from 'vitest/config'

// The tests spawn the built binary against shared servers: one file at a time, generous timeouts.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000, fileParallelism: false },
})
