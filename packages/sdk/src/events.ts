import type { CommitOffset, TopicPartition } from './backend/contract.js'
import { ConfigError, type KeyedError } from './errors.js'
import type { Logger } from './logger.js'

/** What a consumer tells its listeners (consumer.on(event, listener)), and with what. */
export interface ConsumerEvents {
  /** The member joined the group (after each subscribe, which rejoins with the whole subscription list). */
  joined: { readonly groupId: string; readonly topics: readonly string[] }
  /** The backend gave this member these partitions. */
  assigned: { readonly groupId: string; readonly partitions: readonly TopicPartition[] }
  /** These partitions were taken away; their last batch has settled. */
  revoked: { readonly groupId: string; readonly partitions: readonly TopicPartition[] }
  /** The group's position was committed (after a batch, by commit(message) or by batch.commit(upTo)). */
  committed: { readonly groupId: string; readonly offsets: readonly CommitOffset[] }
  /** The consumer stopped for good: closed (error undefined), or stopped by this error. */
  stopped: { readonly groupId: string; readonly error: KeyedError | undefined }
}

export type ConsumerEventName = keyof ConsumerEvents
export type ConsumerListener<E extends ConsumerEventName> = (event: ConsumerEvents[E]) => void

/**
 * A small typed emitter: listeners run synchronously in the order added; one that throws is logged and the rest
 * still run, so a listener never breaks a rebalance or a commit.
 */
export class Emitter<M extends object> {
  private readonly listeners = new Map<keyof M, Array<(event: never) => void>>()

  constructor(
    private readonly logger: Logger,
    private readonly owner: string,
  ) {}

  on<E extends keyof M>(name: E, listener: (event: M[E]) => void): () => void {
    if (typeof listener !== 'function')
      throw new ConfigError(`${this.owner}.on('${String(name)}', listener) needs a listener function.`)
    const list = this.listeners.get(name) ?? []
    this.listeners.set(name, [...list, listener as (event: never) => void])
    return () => this.off(name, listener)
  }

  off<E extends keyof M>(name: E, listener: (event: M[E]) => void): void {
    const list = this.listeners.get(name)
    if (list)
      this.listeners.set(
        name,
        list.filter((l) => l !== listener),
      )
  }

  has(name: keyof M): boolean {
    return (this.listeners.get(name)?.length ?? 0) > 0
  }

  emit<E extends keyof M>(name: E, event: M[E]): void {
    const list = this.listeners.get(name)
    if (!list) return
    for (const listener of list) {
      try {
        ;(listener as (event: M[E]) => void)(event)
      } catch (error) {
        this.logger.error({ event: String(name), err: error }, `${this.owner}: a '${String(name)}' listener threw`)
      }
    }
  }
}
