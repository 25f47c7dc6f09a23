import type { Backend, TopicDescription, TopicSpec } from './backend/contract.js'
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

/**
 * Checks each declaration against the backend's topic, creating it where allowed. The backend is asked once per
 * topic name; every declaration is checked against that answer, so two declarations of one name that disagree
 * (4 partitions here, 8 there) cannot both be used by one client.
 */
export class TopicResolver {
  private readonly described = new Map<string, Promise<TopicDescription>>()
  private readonly checked = new WeakMap<AnyTopic, Promise<ResolvedTopic>>()
  constructor(
    private readonly backend: Backend,
    private readonly options: TopicResolverOptions,
  ) {}

  resolve(topic: AnyTopic, create = this.options.autoCreateTopics): Promise<ResolvedTopic> {
    // Per declaration object: send() calls this for every record batch, so the check runs once per topic object.
    let resolved = this.checked.get(topic)
    if (!resolved) {
      const spec = topicSpec(topic)
      resolved = this.describe(spec, create).then((actual) => this.check(spec, actual))
      this.checked.set(topic, resolved)
      // A failure is not remembered: the next call asks again.
      resolved.catch(() => this.checked.delete(topic))
    }
    return resolved
  }

  private describe(spec: TopicSpec, create: boolean): Promise<TopicDescription> {
    let described = this.described.get(spec.name)
    if (!described) {
      described = this.load(spec, create)
      this.described.set(spec.name, described)
      described.catch(() => this.described.delete(spec.name))
    }
    return described
  }

  private async load(spec: TopicSpec, create: boolean): Promise<TopicDescription> {
    const actual = await this.backend.describeTopic(spec.name)
    if (actual) return actual
    if (!create) throw new TopicNotFoundError(spec.name)
    await this.backend.createTopic(spec)
    return (
      (await this.backend.describeTopic(spec.name)) ?? {
        name: spec.name,
        partitions: spec.partitions,
        cleanupPolicy: spec.cleanupPolicy,
      }
    )
  }

  private check(spec: TopicSpec, actual: TopicDescription): ResolvedTopic {
    if (actual.cleanupPolicy !== spec.cleanupPolicy) {
      throw new TopicMismatchError(
        spec.name,
        'cleanupPolicy',
        spec.cleanupPolicy,
        actual.cleanupPolicy,
        "Compaction guarantees would not hold as declared. Change the declaration or the topic's cleanup.policy on the backend.",
      )
    }
    if (actual.partitions !== spec.partitions) {
      if (this.options.topicMismatch === 'follow-backend') return { name: spec.name, partitions: actual.partitions }
      throw new TopicMismatchError(
        spec.name,
        'partitions',
        spec.partitions,
        actual.partitions,
        "Keys would land on other partitions than other producers expect. Declare the backend's count, " +
          "or pass topicMismatch: 'follow-backend' to createClient to use the backend's count.",
      )
    }
    return { name: spec.name, partitions: actual.partitions }
  }
}
