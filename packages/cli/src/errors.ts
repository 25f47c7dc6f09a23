import { isKeyedError } from '@keyed/sdk'

/** A mistake of the command line's user (a bad option, a topic that is not there): one line, no stack. */
export class UsageError extends Error {
  readonly code: string = 'USAGE'
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * `topic migrate` into a target that holds records its migration did not write (its group has no position): refused
 * before anything is copied, since records appended to a foreign topic cannot be taken out again. Exit 1.
 */
export class TargetNotEmpty extends UsageError {
  override readonly code: string = 'TARGET_NOT_EMPTY'
  constructor(message: string) {
    super(message)
    this.name = 'TargetNotEmpty'
  }
}

/** A check the user asked for did not pass (--fail-on-skew): its own exit code, so CI can tell it from a failure. */
export class CheckFailed extends Error {
  readonly code = 'CHECK_FAILED'
  constructor(message: string) {
    super(message)
    this.name = 'CheckFailed'
  }
}

export const EXIT = { ok: 0, error: 1, check: 2 } as const

/** What a failure prints and its exit code. Keyed errors already say what is wrong without secrets; anything else is unexpected. */
export function describeFailure(error: unknown): {
  code: string
  message: string
  retriable: boolean
  exit: number
  expected: boolean
} {
  if (error instanceof CheckFailed)
    return { code: error.code, message: error.message, retriable: false, exit: EXIT.check, expected: true }
  if (error instanceof UsageError)
    return { code: error.code, message: error.message, retriable: false, exit: EXIT.error, expected: true }
  if (isKeyedError(error))
    return { code: error.code, message: error.message, retriable: error.retriable, exit: EXIT.error, expected: true }
  const message = error instanceof Error ? error.message : String(error)
  return {
    code: 'UNEXPECTED',
    message: `unexpected failure: ${message}`,
    retriable: false,
    exit: EXIT.error,
    expected: false,
  }
}
