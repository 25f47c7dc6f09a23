/** The part of an AbortSignal keyed uses: what the public types fall back to when no platform types are loaded. */
export interface AbortSignalLike {
  readonly aborted: boolean
  readonly reason?: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/**
 * The platform's AbortSignal where its types are loaded (@types/node, TypeScript's DOM lib), else AbortSignalLike:
 * the public types then compile without @types/node, and with it a batch's signal can go straight to fetch().
 */
export type KeyedAbortSignal = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : AbortSignalLike
