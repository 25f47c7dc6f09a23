import { defineConfig } from 'vitest/config'

// The @platformatic/kafka transport needs Node 22.22+ (24.6+ on 24): its tests run where it runs (scripts/node-lines.sh
// runs them on Node 22 and 24); on older Node, test/node-version.test.ts checks that it refuses clearly instead.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
const platformatic = major > 22 || (major === 22 && minor >= 22)

// The same files run on both transports (test/support/brokers.ts reads KEYED_KAFKA_CLIENT), except these, which test
// kafkajs itself: its error objects, its codec table, its silent partition loss (issue 1303), its retry of a call
// still in flight, the Node version check, its log lines.
const KAFKAJS_ONLY = [
  'test/errors.test.ts',
  'test/crash.test.ts',
  'test/producer-resend.test.ts',
  'test/producer-retry-dup.test.ts',
  'test/sole-broker.test.ts',
  'test/node-version.test.ts',
  'test/log-levels.test.ts',
]

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
      ...(platformatic
        ? [
            {
              extends: true as const,
              test: {
                name: 'kafka-platformatic',
                include: ['test/*.test.ts', 'test/platformatic/*.test.ts'],
                exclude: KAFKAJS_ONLY,
                env: { KEYED_KAFKA_CLIENT: 'platformatic' },
                globalSetup: ['test/support/broker-setup.ts'],
              },
            },
            {
              extends: true as const,
              test: {
                name: 'kafka-platformatic-faults',
                include: ['test/faults/*.test.ts'],
                // kafkajs's own expulsion paths (a rejoin without REBALANCING, a fetcher held by a hung handler).
                exclude: ['test/faults/member-expel.test.ts'],
                env: { KEYED_KAFKA_CLIENT: 'platformatic' },
                globalSetup: ['test/support/cluster-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
})
