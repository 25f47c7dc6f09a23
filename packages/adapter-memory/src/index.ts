import type { Backend, BackendConsumer, GroupMemberOptions } from '@keyed/sdk/backend'
import { ClosedError, decimalOffsets, TopicNotFoundError } from '@keyed/sdk/backend'
import { MemoryBroker, type MemoryBrokerOptions } from './broker.js'
import { Member } from './group.js'
import { endOffsets, MemoryReader } from './reader.js'
import { committedOffsets } from './offsets.js'
import { offsetsForTimes, parseOffset, resetOffsets } from './admin.js'

export { MemoryBroker, type MemoryBrokerOptions }

export interface MemoryOptions {
  /** The broker to use; every memory() without one shares one per process, as clients of one Kafka cluster do. */
  broker?: MemoryBroker
}

let shared: MemoryBroker | undefined

/** The broker memory() uses when given none. */
export function defaultMemoryBroker(): MemoryBroker {
  return (shared ??= new MemoryBroker())
}

/** An in-process backend: partitioned logs, consumer groups, compaction and retention, with no server. */
export function memory(options: MemoryOptions = {}): Backend {
  const broker = options.broker ?? defaultMemoryBroker()
  let closed = false
  const live = () => {
    if (closed) throw new ClosedError('memory backend')
  }
  return {
    name: 'memory',
    capabilities: { compaction: true, timeRetention: true },
    offsetFormat: decimalOffsets,
    async offsetRange(topic, partition) {
      live()
      const log = broker.partitionsOf(topic)[partition]
      if (!log) throw new TopicNotFoundError(topic)
      return { low: String(log.logStartOffset), high: String(log.logEndOffset) }
    },
    async describeTopic(name) {
      return broker.describeTopic(name)
    },
    async createTopic(spec) {
      live()
      broker.createTopic(spec)
    },
    producer() {
      return {
        async send(records) {
          live()
          return broker.append(records)
        },
        // Appends complete in the process: the SDK hands each call over as it is made, with no request to wait for.
        appendNow(records) {
          live()
          return broker.append(records)
        },
        appendOne(record) {
          live()
          return broker.appendOne(record)
        },
        async close() {},
      }
    },
    consumer(memberOptions: GroupMemberOptions): BackendConsumer {
      const group = broker.group(memberOptions.groupId)
      const member = new Member(broker.nextMemberId(memberOptions.clientId), memberOptions, group, broker)
      let joined = false
      return {
        async start() {
          live()
          joined = true
          await group.join(member)
        },
        async commit(offsets) {
          for (const o of offsets) group.commit(member, o.topic, o.partition, Number(o.offset))
        },
        async close() {
          if (!joined) return
          joined = false
          await group.leave(member)
        },
        pause: (partitions) => member.pause(partitions),
        resume: (partitions) => member.resume(partitions),
        seek: ({ topic, partition, offset }) => member.seek(topic, partition, parseOffset(offset)),
      }
    },
    async endOffsets(topic) {
      live()
      return endOffsets(broker, topic)
    },
    reader: (readerOptions) => new MemoryReader(broker, readerOptions),
    committedOffsets: async (groupId, topics) => committedOffsets(broker, groupId, topics),
    resetOffsets: async (groupId, topic, positions) => resetOffsets(broker, groupId, topic, positions),
    offsetsForTimes: async (topic, timestamp) => offsetsForTimes(broker, topic, timestamp),
    topicSpec: async (name) => broker.topicSpec(name),
    async close() {
      closed = true
    },
  }
}
