/** Where a command's result goes: JSON on stdout with --json, text otherwise. Progress and errors go to stderr. */
export interface Output {
  readonly json: boolean
  /** The result: the value as JSON with --json, else the text. */
  result(value: unknown, text: () => string): void
}

export function output(json: boolean): Output {
  return {
    json,
    result(value, text) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`)
    },
  }
}
