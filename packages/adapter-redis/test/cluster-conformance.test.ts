import { afterAll } from 'vitest'
import { describeConformance } from '@keyed/sdk/testing'
import { cleanupCluster, clusterBackendFactory, runPrefix } from './helpers.js'

// The whole suite on a Redis Cluster (3 primaries, 3 replicas): every command and script on one slot.
const prefix = runPrefix()
afterAll(() => cleanupCluster(prefix))

describeConformance({
  name: 'redis cluster',
  backend: clusterBackendFactory(prefix),
  timeoutMs: 10_000,
  consumer: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 200 },
})
