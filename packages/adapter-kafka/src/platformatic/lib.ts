import { ConfigError } from '@keyed/sdk/backend'

export type Platformatic = typeof import('@platformatic/kafka')

let loading: Promise<Platformatic> | undefined

/**
 * @platformatic/kafka, loaded on first use: it is an optional peer dependency, so kafkajs users (and Node 20) never
 * load it.
 */
export function platformatic(): Promise<Platformatic> {
  loading ??= import('@platformatic/kafka').catch((error: unknown) => {
    loading = undefined
    throw new ConfigError(
      `kafka({ client: 'platformatic' }) needs the @platformatic/kafka package: npm install @platformatic/kafka@2 ` +
        `(${error instanceof Error ? error.message : String(error)}).`,
    )
  })
  return loading
}
