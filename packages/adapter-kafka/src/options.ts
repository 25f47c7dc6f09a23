/** PEM text or DER bytes; a Node Buffer is a Uint8Array. */
type TlsData = string | Uint8Array

/**
 * The common options of Node's tls.connect, typed structurally so that keyed's public types need no @types/node.
 * A variable typed as Node's tls.ConnectionOptions fits as it is and is passed through whole.
 */
export interface KafkaTlsOptions {
  readonly ca?: TlsData | readonly TlsData[]
  readonly cert?: TlsData | readonly TlsData[]
  readonly key?: TlsData | readonly (TlsData | { readonly pem: TlsData; readonly passphrase?: string })[]
  readonly passphrase?: string
  readonly pfx?: TlsData | readonly (TlsData | { readonly buf: TlsData; readonly passphrase?: string })[]
  readonly servername?: string
  readonly rejectUnauthorized?: boolean
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
  readonly ciphers?: string
}

/** SASL credentials; the secret never appears in keyed's errors or logs. */
export type KafkaSasl =
  | { readonly mechanism: 'plain'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'scram-sha-256'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'scram-sha-512'; readonly username: string; readonly password: string }

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug'

export interface KafkaRetryOptions {
  /** Attempts after the first one for connections and admin calls (kafkajs default 5). */
  readonly retries?: number
  readonly initialRetryTimeMs?: number
  readonly maxRetryTimeMs?: number
}

/** The Kafka client under the adapter: kafkajs 2.2.4 (Node 20+) or @platformatic/kafka 2.x (Node 22.22+ / 24.6+). */
export type KafkaClientName = 'kafkajs' | 'platformatic'

export interface KafkaOptions {
  /** Bootstrap servers, 'host:port'. */
  readonly brokers: readonly string[]
  /**
   * The client library. Default 'kafkajs'. 'platformatic' needs Node 22.22+ (or 24.6+) and the @platformatic/kafka
   * package installed beside this one (an optional peer dependency). See the README for which to choose.
   */
  readonly client?: KafkaClientName
  /** Used when the keyed client sets none. Default 'keyed'. */
  readonly clientId?: string
  /** true for TLS with the system's CAs, or Node's TLS options (ca, cert, key, servername…). */
  readonly ssl?: boolean | KafkaTlsOptions
  readonly sasl?: KafkaSasl
  /** How long to wait for a TCP/TLS connection. Default 3000 ms. */
  readonly connectionTimeoutMs?: number
  /** How long to wait for a broker's answer. Default 30000 ms. */
  readonly requestTimeoutMs?: number
  readonly retry?: KafkaRetryOptions
  /** Replication factor of topics keyed creates; -1 (default) takes the broker's default.replication.factor. */
  readonly replicationFactor?: number
  /** Partitions of one member handled at the same time. Default 4. */
  readonly partitionsConsumedConcurrently?: number
  /** How long a fetch waits for new records; closing a consumer waits for the fetch in flight. Default 500 ms. */
  readonly maxWaitTimeMs?: number
  /**
   * How a group rebalances, on client 'platformatic' (kafkajs only rebalances eagerly): 'cooperative' (default; the
   * cooperative-sticky assignor, KIP-429) moves only the partitions that change owner and lets members keep handling
   * the rest meanwhile; 'eager' stops every partition of the group at each rebalance. Members of one group must agree.
   */
  readonly rebalance?: 'cooperative' | 'eager'
  /** How long the group waits for every member to rejoin during a rebalance. Default 30000 ms. */
  readonly rebalanceTimeoutMs?: number
  /**
   * How long closing a consumer waits for handlers in flight (then their batches are abandoned uncommitted: the next
   * owner gets them again), and closing a producer for its sends in flight. Leaving the group and closing connections
   * may take 5 s more. Default 10000 ms.
   */
  readonly closeTimeoutMs?: number
  /** kafkajs's own logging at this level and up, secrets removed: to the client's logger (createClient({ logger })), or to stderr without one (the platformatic client does not log). Default 'error'. */
  readonly logLevel?: KafkaLogLevel
}

/** Every string that must not leave this process in a message: the SASL password, credentials written into a broker string. */
export function secretsOf(options: KafkaOptions): string[] {
  const secrets = new Set<string>()
  const add = (secret: string | undefined) => {
    if (!secret) return
    secrets.add(secret)
    // Also as it would appear inside a URL or a JSON dump.
    secrets.add(encodeURIComponent(secret))
    secrets.add(JSON.stringify(secret).slice(1, -1))
  }
  add(options.sasl?.password)
  for (const broker of Array.isArray(options.brokers) ? options.brokers : []) {
    // 'user:password@host:9092' or 'SASL_SSL://user:password@host:9092': everything before the host is a credential.
    const at = typeof broker === 'string' ? broker.lastIndexOf('@') : -1
    if (at <= 0) continue
    const userinfo = broker.slice(0, at).replace(/^[a-z0-9_+.-]+:\/\//i, '')
    add(userinfo)
    if (userinfo.includes(':')) add(userinfo.slice(userinfo.indexOf(':') + 1))
  }
  // Longest first, so a secret containing another is removed whole.
  return [...secrets].sort((a, b) => b.length - a.length)
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***')
  return out
}
