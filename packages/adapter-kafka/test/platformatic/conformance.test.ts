import { describeConformance } from '@keyed/sdk/testing'
import { FAST_CLEANUP, testKafka } from '../support/brokers.js'

// The same suite on the @platformatic/kafka transport (Node 22.22+ / 24.6+: scripts/node-lines.sh runs it there).
describeConformance({
  name: 'kafka (platformatic)',
  backend: () => testKafka({ client: 'platformatic' }),
  compactionConfig: FAST_CLEANUP,
  timeoutMs: 30_000,
  consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
})
