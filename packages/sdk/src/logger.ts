import { ConfigError } from './errors.js'

/**
 * What keyed logs through: pino's shape (and bunyan's, and console-like wrappers of either), so
 * `createClient({ logger: pino() })` works as it is. The object comes first and holds the details (topic, group,
 * partition, err); the message says what happened. Nothing keyed logs holds a password or a credential.
 */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

const quiet = () => {}

/** The default: quiet except for errors, which go to stderr as `[keyed] message` and the error (as keyed printed before loggers existed). */
export const defaultLogger: Logger = {
  debug: quiet,
  info: quiet,
  warn: quiet,
  error(obj, msg) {
    const { err } = obj as { err?: unknown }
    if (err === undefined) console.error(`[keyed] ${msg ?? ''}`)
    else console.error(`[keyed] ${msg ?? ''}`, err)
  },
}

/** A logger given by the user, checked; the default when none was given. */
export function resolveLogger(logger: Logger | undefined): Logger {
  if (logger === undefined) return defaultLogger
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger?.[level] !== 'function')
      throw new ConfigError(
        `createClient logger must have debug, info, warn and error methods taking (obj, msg), as pino's do; '${level}' is missing.`,
      )
  }
  // Bound once, so a pino child or a class instance keeps its `this`; a logger that throws never breaks keyed.
  const guard =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void => {
      try {
        logger[level](obj, msg)
      } catch {
        // The logger's own failure is not keyed's to report.
      }
    }
  return { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') }
}
