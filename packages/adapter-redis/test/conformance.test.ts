import { afterAll } from 'vitest'
import { describeConformance } from '@keyed/sdk/testing'
import { backendFactory, cleanup, runPrefix } from './helpers.js'

const prefix = runPrefix()
afterAll(() => cleanup(prefix))

describeConformance({
  name: 'redis',
  backend: backendFactory(prefix),
  timeoutMs: 10_000,
  consumer: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 200 },
})
