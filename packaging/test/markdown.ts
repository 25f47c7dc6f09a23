import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The body of the first ```lang block, after a heading line when one is given. */
export function codeBlock(markdown: string, lang: string, afterHeading?: string): string {
  const start = afterHeading === undefined ? 0 : markdown.indexOf(`\n${afterHeading}`)
  if (start < 0) throw new Error(`no heading ${afterHeading ?? ''}`)
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(markdown.slice(start))
  if (!match?.[1]) throw new Error(`no \`\`\`${lang} block${afterHeading ? ` after ${afterHeading}` : ''}`)
  return match[1]
}

/** The findings a fixture declares with trailing `// expect: rule-id` comments, as `file:line keyed/rule-id`. */
export function markers(dir: string, files: readonly string[]): string[] {
  return files
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => [...line.matchAll(/expect: ([a-z-]+)/g)].map((m) => `${file}:${i + 1} keyed/${m[1]}`)),
    )
    .sort()
}
