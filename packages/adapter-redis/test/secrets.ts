import { inspect } from 'node:util'
import { expect } from 'vitest'

/** Every text a user or a log can get out of an error: its message, its cause chain and its inspection. */
export function errorTexts(error: unknown): string[] {
  const texts = [inspect(error, { depth: 10 }), inspect(error, { depth: 10, showHidden: true })]
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth++) {
    texts.push(JSON.stringify(e) ?? '')
    if (e instanceof Error) texts.push(e.message, e.stack ?? '')
    e = typeof e === 'object' && e !== null && 'cause' in e ? (e as { cause: unknown }).cause : undefined
  }
  return texts
}

/** No fragment of a secret (as given, or percent-encoded) anywhere in what the error shows. */
export function expectNoSecret(error: unknown, ...secrets: string[]): void {
  const all = errorTexts(error).join('\n')
  for (const secret of secrets) {
    expect(all).not.toContain(secret)
    expect(all).not.toContain(encodeURIComponent(secret))
  }
}
