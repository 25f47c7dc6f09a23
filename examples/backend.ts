// The one line that changes per environment: which backend the client talks to.
import type { Backend } from '@keyed/sdk'
import { memory } from '@keyed/adapter-memory'
import { kafka } from '@keyed/adapter-kafka'
import { redis } from '@keyed/adapter-redis'

export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): Backend {
  switch (env.KEYED_BACKEND ?? 'memory') {
    case 'memory':
      return memory()
    case 'kafka':
      return kafka({ brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: 'nothing' })
    case 'redis':
      return redis({ url: env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
    default:
      throw new Error(`KEYED_BACKEND must be memory, kafka or redis, got '${env.KEYED_BACKEND}'`)
  }
}
