import type { Backend, GroupPartitionOffset } from './backend/contract.js'
import { ConfigError } from './errors.js'

/** How far a consumer group is behind, per partition and in total. */
export interface GroupLag {
  readonly groupId: string
  /** Per partition: the committed position (undefined when the group committed nothing there), the end and the records between. */
  readonly partitions: readonly GroupPartitionOffset[]
  /** The sum of the partitions' lag. */
  readonly total: number
}

/**
 * The group's lag in the topics (without topics: every topic it committed in), from the backend's committedOffsets().
 * The one implementation behind consumer.lag(), client.admin().lag() and `keyed lag`.
 */
export async function groupLag(backend: Backend, groupId: string, topics?: readonly string[]): Promise<GroupLag> {
  if (typeof backend.committedOffsets !== 'function')
    throw new ConfigError(
      `The ${backend.name} backend cannot report a group's positions (it has no committedOffsets()); lag needs a backend that does (memory, kafka, redis).`,
    )
  if (topics !== undefined && topics.length === 0) return { groupId, partitions: [], total: 0 }
  const partitions = await backend.committedOffsets(groupId, topics)
  return { groupId, partitions, total: partitions.reduce((sum, p) => sum + p.lag, 0) }
}
