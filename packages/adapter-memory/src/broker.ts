import type { OutgoingRecord, RecordMetadata, TopicDescription, TopicSpec } from '@keyed/sdk/backend'
import { ConfigError, integerOption, nowThisTurn } from '@keyed/sdk/backend'
import { Group } from './group.js'
import { PartitionLog } from './log.js'

export interface MemoryBrokerOptions {
  /** How often retention and compaction run. Default 100 ms; call runCleaner() to run them at once. */
  cleanerIntervalMs?: number
  /** The clock, for tests that move time by hand. Default Date.now (read once per turn of the event loop). */
  now?: () => number
}

interface MemoryTopic {
  readonly spec: TopicSpec
  readonly logs: PartitionLog[]
}

/** The state every memory() backend of one broker shares: topics, logs and consumer groups, like one Kafka cluster in the process. */
export class MemoryBroker {
  private readonly topics = new Map<string, MemoryTopic>()
  private readonly groups = new Map<string, Group>()
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout
  private memberSeq = 0

  constructor(options: MemoryBrokerOptions = {}) {
    this.now = options.now ?? nowThisTurn
    const interval = integerOption('MemoryBroker cleanerIntervalMs', options.cleanerIntervalMs, 100, 1)
    this.timer = setInterval(() => this.runCleaner(), interval)
    // The cleaner alone must not keep a process alive.
    this.timer.unref()
  }

  describeTopic(name: string): TopicDescription | undefined {
    const topic = this.topics.get(name)
    return topic && { name, partitions: topic.logs.length, cleanupPolicy: topic.spec.cleanupPolicy }
  }

  createTopic(spec: TopicSpec): void {
    if (this.topics.has(spec.name)) return
    this.topics.set(spec.name, {
      spec,
      logs: Array.from({ length: spec.partitions }, (_, p) => new PartitionLog(spec.name, p)),
    })
  }

  /** The settings the topic was created with. */
  topicSpec(name: string): TopicSpec | undefined {
    const topic = this.topics.get(name)
    return topic && { ...topic.spec, partitions: topic.logs.length }
  }

  /** Names of the topics, for tools that look at every topic. */
  topicNames(): string[] {
    return [...this.topics.keys()]
  }

  /** The group if it exists; group() creates it. */
  existingGroup(id: string): Group | undefined {
    return this.groups.get(id)
  }

  partitionsOf(topic: string): PartitionLog[] {
    return this.topics.get(topic)?.logs ?? []
  }

  /** One send() of one record, the common case of concurrent callers: no per-call bookkeeping. */
  appendOne(r: OutgoingRecord): RecordMetadata {
    const log = this.log(r)
    const metadata = {
      topic: r.topic,
      partition: r.partition,
      offset: String(log.append(r, this.now())),
      timestamp: r.timestamp,
    }
    log.notify()
    return metadata
  }

  append(records: readonly OutgoingRecord[]): RecordMetadata[] {
    if (records.length === 1) return [this.appendOne(records[0]!)]
    // Check everything first, so a bad record appends nothing.
    const logs = new Array<PartitionLog>(records.length)
    for (let i = 0; i < records.length; i++) logs[i] = this.log(records[i]!)
    const now = this.now()
    const out = new Array<RecordMetadata>(records.length)
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      out[i] = {
        topic: r.topic,
        partition: r.partition,
        offset: String(logs[i]!.append(r, now)),
        timestamp: r.timestamp,
      }
    }
    // Readers wake once per partition after the whole call, not once per record.
    for (const log of new Set(logs)) log.notify()
    return out
  }

  /** The record's partition log, or a ConfigError naming what is missing. */
  private log(r: OutgoingRecord): PartitionLog {
    const topic = this.topics.get(r.topic)
    if (!topic)
      throw new ConfigError(
        `Topic '${r.topic}' does not exist on the memory backend; declare it and let the client create it.`,
      )
    const log = topic.logs[r.partition]
    if (!log) throw new ConfigError(`Topic '${r.topic}' has no partition ${r.partition}.`)
    return log
  }

  group(id: string): Group {
    let group = this.groups.get(id)
    if (!group) this.groups.set(id, (group = new Group(id, this)))
    return group
  }

  nextMemberId(clientId: string | undefined): string {
    return `${clientId ?? 'member'}-${String(++this.memberSeq).padStart(6, '0')}`
  }

  /** Applies retention and compaction to every partition now. */
  runCleaner(): void {
    const now = this.now()
    for (const { spec, logs } of this.topics.values()) for (const log of logs) log.clean(spec, now)
  }

  /** Offsets of a partition: the oldest surviving record and the next to be written. */
  offsets(topic: string, partition: number): { start: number; end: number } | undefined {
    const log = this.partitionsOf(topic)[partition]
    return log && { start: log.logStartOffset, end: log.logEndOffset }
  }

  /** Stops the cleaner timer; the data stays readable. */
  close(): void {
    clearInterval(this.timer)
  }
}
