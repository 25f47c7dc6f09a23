/**
 * A send's outcome, settled once by whichever comes first: its scripts' replies, an error, its deadline, a refusal
 * of the connection's credentials. Listeners hear it synchronously, before the reactions to `promise` run: the send
 * staged behind this one (sendAfter) is written as soon as this one's replies are in, while the SDK answers this
 * one's callers, instead of after them.
 */
export class Outcome<T> {
  readonly promise: Promise<T>
  private resolve!: (value: T) => void
  private reject!: (error: unknown) => void
  private settled: { readonly ok: true } | { readonly ok: false; readonly error: unknown } | undefined
  private listeners: Array<(error?: { readonly error: unknown }) => void> = []
  private cleanups: Array<() => void> = []

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  get done(): boolean {
    return this.settled !== undefined
  }

  succeed(value: T): void {
    if (this.settled) return
    this.settled = { ok: true }
    this.resolve(value)
    this.finish()
  }

  fail(error: unknown): void {
    if (this.settled) return
    this.settled = { ok: false, error }
    this.reject(error)
    this.finish()
  }

  /** Fails the outcome with late() unless it settled within ms. */
  deadline(ms: number, late: () => Error): void {
    const timer = setTimeout(() => this.fail(late()), ms)
    this.onCleanup(() => clearTimeout(timer))
  }

  /** Runs `cleanup` once the outcome settled (at once if it has). */
  onCleanup(cleanup: () => void): void {
    if (this.settled) cleanup()
    else this.cleanups.push(cleanup)
  }

  /** Calls `listener` once settled (at once if it has): with nothing on success, with { error } on failure. */
  whenSettled(listener: (failure?: { readonly error: unknown }) => void): void {
    if (!this.settled) this.listeners.push(listener)
    else listener(this.settled.ok ? undefined : { error: this.settled.error })
  }

  private finish(): void {
    const cleanups = this.cleanups
    const listeners = this.listeners
    this.cleanups = []
    this.listeners = []
    for (const cleanup of cleanups) cleanup()
    const failure = this.settled!.ok ? undefined : { error: this.settled!.error }
    for (const listener of listeners) listener(failure)
  }
}

/** A promise whose value can be read synchronously once it resolved. */
export class Ready<T> {
  private value: { readonly v: T } | undefined
  private constructor(private readonly promise: Promise<T>) {}

  static of<T>(value: T): Ready<T> {
    const ready = new Ready<T>(Promise.resolve(value) as Promise<T>) // T is never a promise here
    ready.value = { v: value }
    return ready
  }

  static later<T>(promise: Promise<T>): Ready<T> {
    const ready = new Ready(promise)
    promise.then(
      (v) => (ready.value = { v }),
      () => undefined, // reported by then()
    )
    return ready
  }

  /** `ok` with the value, synchronously when it is already there; `failed` with the error otherwise. */
  then(ok: (value: T) => void, failed: (error: unknown) => void): void {
    if (this.value) ok(this.value.v)
    else this.promise.then(ok, failed)
  }
}
