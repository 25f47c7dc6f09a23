import { createRequire } from 'node:module'
import type * as OtelApi from '@opentelemetry/api'

export type Api = typeof OtelApi

let loaded: Api | null | undefined

/**
 * @opentelemetry/api if the application has it installed, else undefined; resolved once per process. It is an
 * optional peer dependency: keyed never imports it statically, so an application without it loads nothing. A
 * synchronous require (not import()) so the first client is already traced; the API keeps its registrations
 * (providers, propagator, context manager) on a global, shared by its CommonJS and ES module builds.
 */
export function otelApi(): Api | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as Api
    } catch {
      loaded = null
    }
  }
  return loaded ?? undefined
}
