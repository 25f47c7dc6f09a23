import { redactUrl, type Backend } from '@keyed/sdk/backend'
import { UsageError } from './errors.js'

const FORMS = 'kafka://host:port[,host:port…], redis://[:password@]host:port[/db] (rediss:// for TLS) or memory'

export interface OpenedBackend {
  readonly backend: Backend
  /** The URL as it may be shown. */
  readonly display: string
}

/**
 * A backend from --backend. Tools fail fast on an unreachable server (a few seconds), unless `patient` (a migration
 * rides out a broker restart with the adapters' default retries). Adapters load on use, so a command that reads a file
 * starts without loading kafkajs or ioredis.
 */
export async function openBackend(url: string, patient = false): Promise<OpenedBackend> {
  const display = redactUrl(url)
  if (url === 'memory' || url === 'memory://')
    return { backend: (await import('@keyed/adapter-memory')).memory(), display: 'memory' }
  if (url.startsWith('kafka://')) {
    const rest = url.slice('kafka://'.length).replace(/\/+$/, '')
    if (rest.includes('@'))
      throw new UsageError(
        `--backend ${display}: Kafka credentials cannot be given in the URL; SASL and TLS are not supported by the CLI yet.`,
      )
    const brokers = rest.split(',').map((b) => b.trim())
    const bad = brokers.find((b) => !/^[^\s:/]+:\d{1,5}$/.test(b) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(b))
    if (bad !== undefined) throw new UsageError(`--backend ${display}: '${bad}' is not host:port. Expected ${FORMS}.`)
    const { kafka } = await import('@keyed/adapter-kafka')
    return {
      backend: kafka({
        brokers,
        logLevel: 'nothing',
        clientId: 'keyed-cli',
        ...(!patient && { retry: { retries: 2, maxRetryTimeMs: 1000 }, connectionTimeoutMs: 2000 }),
      }),
      display,
    }
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { redis } = await import('@keyed/adapter-redis')
    return { backend: redis({ url, ...(!patient && { connectTimeoutMs: 3000 }) }), display }
  }
  throw new UsageError(`Unknown backend URL '${display}'. Expected ${FORMS}.`)
}
