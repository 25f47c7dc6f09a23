import cliProgress from 'cli-progress'

export interface Progress {
  /** Sets the count done; `total` changes the expected total. */
  update(done: number, total?: number): void
  stop(): void
}

/**
 * Progress on stderr (stdout stays the result, for pipes and --json): a bar with rate and ETA when the total is known,
 * a count and rate otherwise. On a terminal it redraws in place; elsewhere (CI, a log file) it prints a line every 2 s.
 */
export function progress(label: string, total: number | undefined, unit = 'records'): Progress {
  const known = total !== undefined
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: known
        ? `${label} |{bar}| {percentage}% {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`
        : `${label} {value} ${unit} | {speed} ${unit}/s`,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      etaBuffer: 50,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = Date.now()
  let shown = false
  let last = 0
  const speed = (done: number) =>
    Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en-US')
  return {
    update(done, newTotal) {
      last = done
      if (!shown) {
        // A read that finishes at once shows nothing.
        if (Date.now() - started < 500) return
        bar.start(newTotal ?? total ?? 0, done, { speed: speed(done) })
        shown = true
      }
      if (newTotal !== undefined) bar.setTotal(newTotal)
      bar.update(done, { speed: speed(done) })
    },
    stop() {
      if (!shown) return
      bar.update(last, { speed: speed(last) })
      bar.stop()
    },
  }
}
