let now: number | undefined

/**
 * Date.now(), read once per turn of the event loop: on a busy or virtualized machine a clock read costs about as much
 * as the rest of a one-record send's bookkeeping, and a server makes many sends per turn. The calls of one synchronous
 * run share a timestamp, as the records of one call do.
 */
export function nowThisTurn(): number {
  if (now === undefined) {
    now = Date.now()
    queueMicrotask(forget)
  }
  return now
}

function forget(): void {
  now = undefined
}
