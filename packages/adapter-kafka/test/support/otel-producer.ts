// A producer in a process of its own for the cross-process trace test: it sends one record inside an application
// span, with OpenTelemetry wired as an application would, and prints the ids of its spans as one JSON line.
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { createClient, defineTopic } from '@keyed/sdk'
import { kafka } from '../../src/index.js'

const [broker, topicName] = process.argv.slice(2) as [string, string]
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }))

const client = createClient({ backend: kafka({ brokers: [broker] }) })
const topic = defineTopic(topicName, { partitions: 2 })
await trace.getTracer('shop').startActiveSpan('POST /checkout', async (checkout) => {
  await client.producer().send(topic, { key: 'order-1', value: { total: 42 } })
  checkout.end()
})
await client.close()
const send = exporter.getFinishedSpans().find((s) => s.name === `send ${topicName}`)!
console.log(
  JSON.stringify({
    traceId: send.spanContext().traceId,
    sendSpanId: send.spanContext().spanId,
    sendParentId: send.parentSpanContext?.spanId,
    checkoutSpanId: exporter
      .getFinishedSpans()
      .find((s) => s.name === 'POST /checkout')!
      .spanContext().spanId,
  }),
)
