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
   * Why the connection `conn` (shared or dedicated) was dropped, when a reconnect's credentials were refused: the error
   * its calls failing with "Connection is closed." should get instead.
   */
  refusal(conn: Connection): KeyedError | undefined
  /** `work`, a call on `conn`, or the refusal that dropped `conn` if that comes first (its call is never answered then). */
  guard<T>(conn: Connection, work: Promise<T>): Promise<T>
  /**
   * A connection of its own (a blocking read holds its connection); its user disconnects it. Dropped when a reconnect
   * is refused the credentials: its user guard()s its calls, and fails with the refusal.
   */
  dedicated(name: string): Promise<Connection>
  /** The client's logger (the SDK's default until createClient sets one). */
  readonly logger: Logger
  /** A topic's metadata; TopicNotFoundError when it does not exist. */
  topicMeta(topic: string): Promise<TopicMeta>
}
