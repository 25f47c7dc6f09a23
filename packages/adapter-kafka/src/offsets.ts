import kafkajs, { type Admin } from 'kafkajs'
import type { GroupPartitionOffset, TopicSpec } from '@keyed/sdk/backend'
import { toKeyedError, type ErrorContext } from './errors.js'
import { parseCleanupPolicy, TOPIC_FIELDS } from './topics.js'

const { ConfigResourceTypes, ConfigSource } = kafkajs

/** The group's committed offsets (admin fetchOffsets) against each partition's high watermark (from the low one when nothing is committed); without topics, every topic it committed in. */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topics: readonly string[] | undefined,
  context: ErrorContext,
): Promise<GroupPartitionOffset[]> {
  try {
    const fetched = await admin.fetchOffsets({ groupId, ...(topics && { topics: [...topics] }) })
    const out: GroupPartitionOffset[] = []
    for (const { topic, partitions } of fetched) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]))
      for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) {
        const { high: end, low } = ends.get(p.partition) ?? { high: '0', low: '0' }
        // -1: the group has no offset for this partition.
        const committed = Number(p.offset) >= 0 ? p.offset : undefined
        out.push({
          topic,
          partition: p.partition,
          committed,
          end,
          lag: Math.max(0, Number(end) - Number(committed ?? low)),
        })
      }
    }
    return out
  } catch (error) {
    throw toKeyedError(error, `fetch the committed offsets of group '${groupId}'`, context)
  }
}

/** The topic's partition count and the configs set on the topic itself (not broker defaults), as a TopicSpec. */
export async function topicSpec(admin: Admin, name: string, context: ErrorContext): Promise<TopicSpec | undefined> {
  try {
    if (!(await admin.listTopics()).includes(name)) return undefined
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name }],
      includeSynonyms: false,
    })
    const spec = {
      name,
      partitions: metadata?.partitions.length ?? 0,
      retentionMs: undefined,
      retentionBytes: undefined,
      deleteRetentionMs: undefined,
      minCompactionLagMs: undefined,
    } as {
      -readonly [F in keyof TopicSpec]: TopicSpec[F]
    }
    const config: Record<string, string> = {}
    let policy: string | undefined
    for (const entry of resources[0]?.configEntries ?? []) {
      if (entry.configName === 'cleanup.policy') policy = entry.configValue
      if (entry.configSource !== ConfigSource.TOPIC_CONFIG || entry.configName === 'cleanup.policy') continue
      const field = TOPIC_FIELDS[entry.configName]
      if (field) spec[field] = Number(entry.configValue)
      else config[entry.configName] = entry.configValue
    }
    return { ...spec, cleanupPolicy: parseCleanupPolicy(policy), config }
  } catch (error) {
    throw toKeyedError(error, `describe topic '${name}'`, context)
  }
}
