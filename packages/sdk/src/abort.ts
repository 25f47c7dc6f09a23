import { ConfigError } from './errors.js'

/** Calls `fn` once when the signal aborts; returns what removes the listener (call it when the operation settled). */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
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
export function checkSignal(signal: unknown, where: string): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (
    typeof signal === 'object' &&
    signal !== null &&
    typeof (signal as AbortSignal).aborted === 'boolean' &&
    typeof (signal as AbortSignal).addEventListener === 'function'
  )
    return signal as AbortSignal
  throw new ConfigError(
    `${where} signal must be an AbortSignal (new AbortController().signal, AbortSignal.timeout(ms)).`,
  )
}
