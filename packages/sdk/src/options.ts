import { ConfigError } from './errors.js'
import { describe } from './serdes.js'

/**
 * The one check for integer options, with one message: "<what> must be an integer >= <min>, got <value>."
 * `what` names the option as the caller wrote it (`Consumer sessionTimeoutMs`, `redis({ blockMs })`).
 * Returns `fallback` when the option was left out.
 */
export function integerOption(what: string, value: unknown, fallback: number, min: number): number
export function integerOption(
  what: string,
  value: unknown,
  fallback: number | undefined,
  min: number,
): number | undefined
export function integerOption(
  what: string,
  value: unknown,
  fallback: number | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(
      `${what} must be an integer >= ${min}, got ${typeof value === 'string' ? `'${value}'` : typeof value === 'number' ? value : describe(value)}.`,
    )
  }
  return value
}
