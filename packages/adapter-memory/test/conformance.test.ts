import { describeConformance } from '@keyed/sdk/testing'
import { memory, MemoryBroker } from '../src/index.js'

const broker = new MemoryBroker({ cleanerIntervalMs: 20 })

describeConformance({ name: 'memory', backend: () => memory({ broker }), timeoutMs: 5000 })
