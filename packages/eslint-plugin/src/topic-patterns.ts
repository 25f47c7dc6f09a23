/** Matches kafkajs topic names against `orderedTopics`: exact names, `*` globs, or `/regex/flags`. */
export function topicMatcher(patterns: readonly string[] | undefined): (name: string | undefined) => boolean {
  const tests = (patterns ?? []).map((pattern): ((name: string) => boolean) => {
    const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern)
    if (regex) {
      const re = new RegExp(regex[1]!, regex[2])
      return (name) => re.test(name)
    }
    if (pattern.includes('*')) {
      const re = new RegExp(
        `^${pattern
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      )
      return (name) => re.test(name)
    }
    return (name) => name === pattern
  })
  return (name) => name !== undefined && tests.some((test) => test(name))
}

export const orderedTopicsSchema = {
  type: 'array',
  items: { type: 'string' },
  description: "kafkajs topics that are ordered per key: exact names, '*' globs ('orders.*') or '/regex/flags'.",
} as const
