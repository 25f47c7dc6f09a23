import { ConfigError } from '@keyed/sdk/backend'

/** @platformatic/kafka 2.x's engines: Node >= 22.22.0 (or >= 24.6.0 on the 24 line). */
const NEEDS = [22, 22, 0] as const

/** Refuses kafka({ client: 'platformatic' }) on a Node that @platformatic/kafka 2.x does not support. */
export function checkNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number)
  const [m, n, p] = NEEDS
  if (major > m || (major === m && (minor > n || (minor === n && patch >= p)))) return
  throw new ConfigError(
    `kafka({ client: 'platformatic' }) needs Node 22.22.0 or later (22.22+ or 24.6+, what @platformatic/kafka 2.x supports); ` +
      `this is Node ${version}. Run on Node 22 or 24, or use client: 'kafkajs' (the default), which runs on Node 20.`,
  )
}
