/**
 * Key layout. Everything of one partition shares the hash tag {topic:partition}, so it lives in one Redis Cluster
 * slot and Lua scripts may touch it together; partitions spread over shards. Group membership shares {g:group}.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** Hash: partitions, cleanupPolicy, retention settings. */
  topic(topic: string): string {
    return `${this.prefix}topic:${topic}`
  }
  /** The partition's log; its consumer groups are the keyed groups. */
  stream(topic: string, partition: number): string {
    return `${this.prefix}{${topic}:${partition}}:log`
  }
  /** Hash key bytes -> id of the key's latest entry (compacted topics). */
  index(topic: string, partition: number): string {
    return `${this.prefix}{${topic}:${partition}}:idx`
  }
  /** Hash: one producer's recent appends to the partition, so a resent append is neither applied twice nor late (append.lua). */
  sent(topic: string, partition: number, producer: string): string {
    return `${this.prefix}{${topic}:${partition}}:sent:${producer}`
  }
  /** Count of appends that superseded or tombstoned a key since the cleaner last finished. */
  dirty(topic: string, partition: number): string {
    return `${this.prefix}{${topic}:${partition}}:dirty`
  }
  /** The group's ownership lease of the partition: "<member>/<epoch>", with a TTL. */
  lease(topic: string, partition: number, group: string): string {
    return `${this.prefix}{${topic}:${partition}}:lease:${group}`
  }
  /** Fencing epochs handed out for the partition within the group. */
  epoch(topic: string, partition: number, group: string): string {
    return `${this.prefix}{${topic}:${partition}}:epoch:${group}`
  }
  /** Sorted set member id -> expiry (server ms) of the members reading the topic. */
  members(group: string, topic: string): string {
    return `${this.prefix}{g:${group}}:members:${topic}`
  }
}

/** One consumer name for every stream: the stream is the partition, so its pending list is the partition's. */
export const CONSUMER_NAME = 'owner'
