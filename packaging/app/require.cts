// CommonJS, as a .cts file compiles to: require() of the ES module packages (Node >= 20.19 or 22.12).
import sdk = require('@keyed/sdk')
import backend = require('@keyed/sdk/backend')
import memoryAdapter = require('@keyed/adapter-memory')
import kafkaAdapter = require('@keyed/adapter-kafka')
import redisAdapter = require('@keyed/adapter-redis')
import eslintPlugin = require('@keyed/eslint-plugin')

const loaded: Record<string, unknown> = {
  '@keyed/sdk createClient': sdk.createClient,
  '@keyed/sdk/backend assignPartitions': backend.assignPartitions,
  '@keyed/adapter-memory memory': memoryAdapter.memory,
  '@keyed/adapter-kafka kafka': kafkaAdapter.kafka,
  '@keyed/adapter-redis redis': redisAdapter.redis,
  '@keyed/eslint-plugin rules': eslintPlugin.default.rules,
}
for (const [what, value] of Object.entries(loaded)) console.log(`${what}: ${typeof value}`)
