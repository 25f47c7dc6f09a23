/** Reads named configs of a topic from the broker. */
export type TopicConfigReader = (topic: string, names: string[]) => Promise<Record<string, string | undefined>>

/** Each topic's max.message.bytes, read with the topic (describeTopic) or on first use, cached; refresh re-reads it. */
export class MessageLimits {
  private readonly limits = new Map<string, Promise<number | undefined>>()

  constructor(private readonly read: TopicConfigReader) {}

  /** What describeTopic read, so the first send needs no lookup of its own. */
  remember(topic: string, value: string | undefined): void {
    this.limits.set(topic, Promise.resolve(parseLimit(value)))
  }

  /** Undefined when it cannot be read: the send goes on and the broker checks. */
  get(topic: string, refresh: boolean): Promise<number | undefined> {
    let limit = this.limits.get(topic)
    if (!limit || refresh) {
      limit = this.read(topic, ['max.message.bytes']).then((config) => parseLimit(config['max.message.bytes']))
      // A failed lookup is not remembered.
      limit = limit.catch(() => {
        this.limits.delete(topic)
        return undefined
      })
      this.limits.set(topic, limit)
    }
    return limit
  }
}

function parseLimit(value: string | undefined): number | undefined {
  const limit = Number(value)
  return value !== undefined && Number.isInteger(limit) && limit > 0 ? limit : undefined
}
