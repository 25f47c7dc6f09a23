import type { KeyedAbortSignal } from './signal.js'
import { ConfigError } from './errors.js'

/** Calls `fn` once when the signal aborts; returns what removes the listener (call it when the operation settled). */
export function onAbort(signal: KeyedAbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return noop
  if (signal.aborted) {
    fn()
    return noop
  }
  signal.addEventListener('abort', fn, { once: true })
  return () => signal.removeEventListener('abort', fn)
}

const noop = () => {}

/** Throws a clear error for a value passed as a signal that is not one (JavaScript callers). */
export function checkSignal(signal: unknown, where: string): KeyedAbortSignal | undefined {
  if (signal === undefined) return undefined
  if (
    typeof signal === 'object' &&
    signal !== null &&
    typeof (signal as KeyedAbortSignal).aborted === 'boolean' &&
    typeof (signal as KeyedAbortSignal).addEventListener === 'function'
  )
    return signal as KeyedAbortSignal
  throw new ConfigError(
    `${where} signal must be an AbortSignal (new AbortController().signal, AbortSignal.timeout(ms)).`,
  )
}
