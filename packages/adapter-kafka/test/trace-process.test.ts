import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { context, propagation, SpanKind } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { createClient, defineTopic } from '@keyed/sdk'
import { unique, waitFor } from '@keyed/sdk/testing'
import { kafka } from '../src/index.js'
import { BROKER } from './support/brokers.js'

const producerScript = fileURLToPath(new URL('./support/otel-producer.ts', import.meta.url))

describe('a trace across two processes over Kafka', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  })
  afterAll(() => {
    context.disable()
    propagation.disable()
  })

  it("keeps one trace id: the consumer's process span is a child of the send span of the producing process", async () => {
    const topicName = unique('otel-otel-process')
    const topic = defineTopic(topicName, { partitions: 2 })
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    const client = createClient({ backend: kafka({ brokers: [BROKER] }), telemetry: { tracerProvider } })
    try {
      await client.admin().ensureTopics([topic])
      const child = spawnSync(process.execPath, ['--import', 'tsx', producerScript, BROKER, topicName], {
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(child.status, child.stderr).toBe(0)
      const produced = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
        traceId: string
        sendSpanId: string
        sendParentId: string
        checkoutSpanId: string
      }
      expect(produced.sendParentId).toBe(produced.checkoutSpanId)

      const headers: Record<string, string>[] = []
      await client
        .consumer({ groupId: unique('otel-group'), sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
        .subscribe(topic, (m) => void headers.push(m.headers), { fromBeginning: true })
      await waitFor('the record from the other process', 30_000, () =>
        exporter.getFinishedSpans().some((s) => s.name === `process ${topicName}`),
      )
      const processSpan = exporter.getFinishedSpans().find((s) => s.name === `process ${topicName}`)!
      expect(processSpan.kind).toBe(SpanKind.CONSUMER)
      expect(processSpan.spanContext().traceId).toBe(produced.traceId)
      expect(processSpan.parentSpanContext?.spanId).toBe(produced.sendSpanId)
      expect(headers[0]!.traceparent).toBe(`00-${produced.traceId}-${produced.sendSpanId}-01`)
    } finally {
      await client.close()
      await tracerProvider.shutdown()
    }
  }, 120_000)
})
