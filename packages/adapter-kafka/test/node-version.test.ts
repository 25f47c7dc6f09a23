import { describe, expect, it } from 'vitest'
import { ConfigError } from '@keyed/sdk'
import { checkNode } from '../src/platformatic/node.js'
import { kafka } from '../src/index.js'

describe("kafka({ client: 'platformatic' }) on Node lines @platformatic/kafka 2.x does not support", () => {
  it('refuses older Node with a ConfigError naming the Node it needs and the alternative', () => {
    for (const old of ['20.20.2', '22.21.9', '18.0.0']) {
      expect(() => checkNode(old)).toThrow(ConfigError)
      expect(() => checkNode(old)).toThrow(/needs Node 22\.22\.0 or later .*this is Node .*client: 'kafkajs'/)
    }
    for (const ok of ['22.22.0', '22.23.5', '24.6.0', '24.22.3', '25.0.0']) expect(() => checkNode(ok)).not.toThrow()
  })

  it.runIf(Number(process.versions.node.split('.')[0]) < 22)('kafka() itself refuses on this Node', () => {
    expect(() => kafka({ brokers: ['127.0.0.1:9092'], client: 'platformatic' })).toThrow(ConfigError)
  })

  it('refuses an unknown client by name', () => {
    expect(() => kafka({ brokers: ['127.0.0.1:9092'], client: 'rdkafka' as 'kafkajs' })).toThrow(
      /client must be 'kafkajs' or 'platformatic', got 'rdkafka'/,
    )
  })
})
