import { defineConfig } from 'vitest/config'

// Kafka tests share one broker (or a 3-node cluster for the fault tests) and two cores: one file at a time.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'kafka', include: ['test/*.test.ts'], globalSetup: ['test/support/broker-setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'kafka-faults',
          include: ['test/faults/*.test.ts'],
          globalSetup: ['test/support/cluster-setup.ts'],
        },
      },
    ],
  },
})
