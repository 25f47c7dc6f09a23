import { describeConformance } from '@keyed/sdk/testing'
import { FAST_CLEANUP, testKafka } from './support/brokers.js'

describeConformance({
  name: 'kafka',
  backend: () => testKafka(),
  compactionConfig: FAST_CLEANUP,
  timeoutMs: 30_000,
  consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
})
