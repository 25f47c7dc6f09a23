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
        ? `${label} |{bar}| {percentage}% {value}/{total} ${unit} | {speed} ${unit}/s | ETA {etaText}`
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
  const rate = (done: number) => done / Math.max(0.001, (Date.now() - started) / 1000)
  // The ETA from the average rate so far (cli-progress's own shows 'NFs' or 'LLs' while its buffer is unsettled).
  const payload = (done: number, of: number) => {
    const r = rate(done)
    const left = done >= of ? 0 : r > 0 ? Math.ceil((of - done) / r) : undefined
    return {
      speed: Math.round(r).toLocaleString('en-US'),
      etaText: left === undefined ? '?' : left >= 60 ? `${Math.floor(left / 60)}m ${left % 60}s` : `${left}s`,
    }
  }
  let of = total ?? 0
  return {
    update(done, newTotal) {
      last = done
      if (!shown) {
        // A read that finishes at once shows nothing.
        if (Date.now() - started < 500) return
        of = newTotal ?? of
        bar.start(of, done, payload(done, of))
        shown = true
      }
      if (newTotal !== undefined) bar.setTotal((of = newTotal))
      bar.update(done, payload(done, of))
    },
    stop() {
      if (!shown) return
      bar.update(last, payload(last, of))
      bar.stop()
    },
  }
}
