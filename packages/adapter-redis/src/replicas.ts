import type { Connection } from './connection.js'

/**
 * How many replicas acks 'all' waits for when redis({ replicas }) is not given: 1 when there are replicas to wait
 * for, 0 otherwise (a WAIT on a server without replicas would only ever time out). On a cluster: when any primary has
 * a replica in the topology (CLUSTER NODES, failed ones included: a primary whose replica is down then fails its
 * sends with TimeoutError, as Kafka refuses acks=all below min.insync.replicas). On a server: its connected replicas.
 */
export async function detectReplicas(conn: Connection, cluster: boolean): Promise<number> {
  if (cluster) {
    const nodes = String(await conn.call('CLUSTER', 'NODES'))
    // Each line: <id> <address> <flags,comma,separated> <primary id> …
    const flags = nodes.split('\n').map((line) => (line.split(' ')[2] ?? '').split(','))
    return flags.some((f) => f.includes('slave') || f.includes('replica')) ? 1 : 0
  }
  const info = await conn.info('replication')
  return Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) > 0 ? 1 : 0
}
