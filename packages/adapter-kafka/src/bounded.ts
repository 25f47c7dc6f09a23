/** How long closing waits for work in flight (handlers, sends) unless closeTimeoutMs says otherwise. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000
/** After the work in flight: how long leaving a group and closing connections may take before close() gives up on them. */
export const LEAVE_TIMEOUT_MS = 5000

/** The work's result, or 'timeout' once ms passed; the work goes on unobserved (give it a catch). */
export function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')))
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
