import { sleep } from '../sleep.js'

export { sleep }

/** Polls `check` until it holds; throws naming `what` once `timeoutMs` passed. The suite's and the adapters' tests' one wait. */
export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}
