/**
 * What a cluster answers while its metadata catches up: a broker that just restarted, or a topic just created whose
 * leaders are not known everywhere yet. Java's AdminClient retries these until its API timeout; so does keyed.
 */
const SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_CONTROLLER'])

/** How long a topic creation waits out a settling cluster before its error is the caller's. */
export const SETTLING_MS = 20_000

/**
 * Runs `fn` again while it fails with a settling error type (as `typeOf` reads it), for up to `ms`. `fn` must be
 * safe to run twice: a creation that went through the first time is TOPIC_ALREADY_EXISTS, which both transports take.
 */
export async function whileSettling<T>(
  fn: () => Promise<T>,
  typeOf: (error: unknown) => string | undefined,
  ms = SETTLING_MS,
): Promise<T> {
  const deadline = Date.now() + ms
  for (let wait = 200; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await fn()
    } catch (error) {
      if (!SETTLING.has(typeOf(error) ?? '') || Date.now() + wait > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
