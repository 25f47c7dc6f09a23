import type { KeyedError, Logger } from '@keyed/sdk/backend'
import type { Connection } from './connection.js'
import type { Keys } from './keys.js'
import type { ResolvedOptions } from './options.js'
import type { TopicMeta } from './topics.js'

/** What the producer, the group members, the cleaner and the table readers use of the backend, and nothing more. */
export interface RedisContext {
  readonly options: ResolvedOptions
  readonly keys: Keys
  /** The shared command connection, connected within connectTimeoutMs, or a keyed error. */
  connection(): Promise<Connection>
  /**
   * Why the shared connection `conn` was dropped, when a reconnect's credentials were refused: the error its calls
   * failing with "Connection is closed." should get instead.
   */
  refusal(conn: Connection): KeyedError | undefined
  /**
   * Calls `listener` when the shared connection `conn` is dropped for refused credentials (a call written before the
   * connection went is never answered then); returns its removal.
   */
  onRefusal(conn: Connection, listener: (refusal: KeyedError) => void): () => void
  /** A connection of its own (a blocking read holds its connection); its user disconnects it. */
  dedicated(name: string): Promise<Connection>
  /** The client's logger (the SDK's default until createClient sets one). */
  readonly logger: Logger
  /** A topic's metadata; TopicNotFoundError when it does not exist. */
  topicMeta(topic: string): Promise<TopicMeta>
}
