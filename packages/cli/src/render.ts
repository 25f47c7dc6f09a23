/** Plain-text output helpers: numbers, shares, aligned tables and bar charts (Unicode blocks, no colour). */

export const num = (n: number) => n.toLocaleString('en-US')
export const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** A bar of `value / max` of `width` cells, with eighth-cell precision. */
export function bar(value: number, max: number, width = 40): string {
  if (max <= 0) return ''
  const eighths = Math.round((value / max) * width * 8)
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8]!
}

/** Rows as aligned columns; `right` lists the columns aligned right (numbers). */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** A key as it can be printed on one line: control characters escaped, long keys shortened. */
export function shownKey(key: string, max = 48): string {
  const escaped = JSON.stringify(key).slice(1, -1)
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped
}
