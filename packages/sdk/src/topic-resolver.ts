import type { Backend, TopicSpec } from './backend/contract.js'
import { TopicMismatchError, TopicNotFoundError } from './errors.js'
import type { AnyTopic } from './topic.js'

export interface ResolvedTopic {
  readonly name: string
  /** The partition count records are spread over: the declared one, or the backend's under topicMismatch: 'follow-backend'. */
  readonly partitions: number
}

export interface TopicResolverOptions {
  readonly autoCreateTopics: boolean
  readonly topicMismatch: 'error' | 'follow-backend'
}

export function topicSpec(topic: AnyTopic): TopicSpec {
  return {
    name: topic.name,
    partitions: topic.partitions,
    cleanupPolicy: topic.cleanupPolicy,
    retentionMs: topic.retentionMs,
    retentionBytes: topic.retentionBytes,
    deleteRetentionMs: topic.deleteRetentionMs,
    minCompactionLagMs: topic.minCompactionLagMs,
    config: topic.config,
  }
}

/** Checks each declared topic against the backend once per client, creating it where allowed. */
export class TopicResolver {
  private readonly cache = new Map<string, Promise<ResolvedTopic>>()
  constructor(
    private readonly backend: Backend,
    private readonly options: TopicResolverOptions,
  ) {}

  resolve(topic: AnyTopic, create = this.options.autoCreateTopics): Promise<ResolvedTopic> {
    return this.resolveSpec(topicSpec(topic), create)
  }

  resolveSpec(spec: TopicSpec, create = this.options.autoCreateTopics): Promise<ResolvedTopic> {
    let resolved = this.cache.get(spec.name)
    if (!resolved) {
      resolved = this.load(spec, create)
      this.cache.set(spec.name, resolved)
      // A failure is not remembered: the next call asks the backend again.
      resolved.catch(() => this.cache.delete(spec.name))
    }
    return resolved
  }

  private async load(spec: TopicSpec, create: boolean): Promise<ResolvedTopic> {
    let actual = await this.backend.describeTopic(spec.name)
    if (!actual) {
      if (!create) throw new TopicNotFoundError(spec.name)
      await this.backend.createTopic(spec)
      actual = (await this.backend.describeTopic(spec.name)) ?? { name: spec.name, partitions: spec.partitions, cleanupPolicy: spec.cleanupPolicy }
    }
    if (actual.cleanupPolicy !== spec.cleanupPolicy) {
      throw new TopicMismatchError(
        spec.name,
        'cleanupPolicy',
        spec.cleanupPolicy,
        actual.cleanupPolicy,
        'Compaction guarantees would not hold as declared. Change the declaration or the topic\'s cleanup.policy on the backend.',
      )
    }
    if (actual.partitions !== spec.partitions) {
      if (this.options.topicMismatch === 'follow-backend') return { name: spec.name, partitions: actual.partitions }
      throw new TopicMismatchError(
        spec.name,
        'partitions',
        spec.partitions,
        actual.partitions,
        'Keys would land on other partitions than other producers expect. Declare the backend\'s count, ' +
          "or pass topicMismatch: 'follow-backend' to createClient to use the backend's count.",
      )
    }
    return { name: spec.name, partitions: actual.partitions }
  }
}
