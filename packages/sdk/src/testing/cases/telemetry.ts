import { expect } from 'vitest'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import type { MetricData } from '@opentelemetry/sdk-metrics'
import { partitionFor } from '../../murmur2.js'
import { defineTopic } from '../../topic.js'
import type { ConformanceCase } from '../case.js'
import { unique } from '../harness.js'
import { waitFor } from '../wait.js'

/** traceparent by hand, as another language's instrumentation reads it: version-traceid-parentid-flags, lower-case hex. */
function parseTraceparent(header: string | undefined): { traceId: string; spanId: string; sampled: boolean } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header ?? '')
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) throw new Error(`not a W3C traceparent: ${header}`)
  return { traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 }
}

const sumOf = (metrics: MetricData[], name: string) =>
  metrics
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as Array<{ value: number | { count: number } }>)
    .reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : p.value.count), 0)

/** OpenTelemetry: producer and consumer spans, the trace context in the headers, and the metrics, on every backend. */
export const telemetryCases: readonly ConformanceCase[] = [
  {
    name: 'OpenTelemetry: a send span with the W3C context in the headers, a process span per record as its child, retries and dead letters as events, metrics',
    needs: ['opentelemetry'],
    async run(h) {
      const { api, exporter, tracerProvider, meterProvider, reader, tearDown } = await setUpOpenTelemetry()
      try {
        const client = await h.client({ telemetry: { tracerProvider, meterProvider } })
        const system = client.backend.name
        const kafka = system === 'kafka'
        const topic = defineTopic(unique('otel'), { partitions: 3 })
        const group = unique('group')
        const producer = client.producer()
        // A request span of the application: the send happens inside it.
        const request = tracerProvider.getTracer('app').startSpan('GET /orders')
        const sent = await api.context.with(api.trace.setSpan(api.context.active(), request), () =>
          producer.send(topic, { key: 'customer-1', value: 'ok' }),
        )
        request.end()
        await producer.send(topic, [
          { key: 'customer-2', value: 'fail' },
          { key: 'customer-2', value: 'ok again' },
        ])

        const handled = new Map<string, { traceparent: string | undefined; active: string | undefined }>()
        const consumer = client.consumer(
          h.consumerOptions(group, { deadLetter: true, retry: { attempts: 2, initialBackoffMs: 1 } }),
        )
        await consumer.subscribe(
          topic,
          (m) => {
            handled.set(m.offset + '@' + m.partition, {
              traceparent: m.headers.traceparent,
              active: api.trace.getActiveSpan()?.spanContext().spanId,
            })
            if (m.value === 'fail') throw new Error('refused by the handler')
          },
          { fromBeginning: true },
        )
        const processSpans = () => exporter.getFinishedSpans().filter((s) => s.name === `process ${topic.name}`)
        await waitFor('three process spans', h.timeoutMs, () => processSpans().length === 3)

        const spans = exporter.getFinishedSpans()
        const sends = spans.filter((s) => s.name === `send ${topic.name}`)
        expect(sends).toHaveLength(2)
        const single = sends.find((s) => s.attributes['messaging.batch.message_count'] === undefined)!
        const batch = sends.find((s) => s.attributes['messaging.batch.message_count'] === 2)!
        expect(single.kind).toBe(api.SpanKind.PRODUCER)
        expect(single.attributes).toMatchObject({
          'messaging.system': system,
          'messaging.operation.name': 'send',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic.name,
          'messaging.destination.partition.id': String(partitionFor('customer-1', 3)),
          [kafka ? 'messaging.kafka.message.key' : 'keyed.message.key']: 'customer-1',
          'keyed.offset': sent.offset,
          ...(kafka && { 'messaging.kafka.offset': Number(sent.offset) }),
        })
        // The send is a child of the application's span, in its trace.
        expect(single.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
        expect(single.spanContext().traceId).toBe(request.spanContext().traceId)
        expect(batch.parentSpanContext).toBeUndefined()

        const byOffset = (offset: string, partition: number) => handled.get(offset + '@' + partition)
        const process = (s: ReadableSpan) => s.attributes['keyed.offset'] as string
        for (const span of processSpans()) {
          const send =
            span.attributes[kafka ? 'messaging.kafka.message.key' : 'keyed.message.key'] === 'customer-1'
              ? single
              : batch
          const partition = Number(span.attributes['messaging.destination.partition.id'])
          const seen = byOffset(process(span), partition)!
          // The header is W3C trace context naming the send span, readable without OpenTelemetry.
          const header = parseTraceparent(seen.traceparent)
          expect(header).toEqual({
            traceId: send.spanContext().traceId,
            spanId: send.spanContext().spanId,
            sampled: true,
          })
          expect(span.kind).toBe(api.SpanKind.CONSUMER)
          expect(span.spanContext().traceId).toBe(send.spanContext().traceId)
          expect(span.parentSpanContext?.spanId).toBe(send.spanContext().spanId)
          expect(span.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId])
          expect(span.attributes).toMatchObject({
            'messaging.system': system,
            'messaging.operation.name': 'process',
            'messaging.operation.type': 'process',
            'messaging.destination.name': topic.name,
            'messaging.consumer.group.name': group,
          })
          // The handler ran with the process span active, so its own spans are its children.
          expect(seen.active).toBe(span.spanContext().spanId)
        }
        const failed = processSpans().find((s) => s.status.code === api.SpanStatusCode.ERROR)!
        expect(failed).toBeDefined()
        expect(failed.events.map((e) => e.name)).toEqual(['exception', 'keyed.retry', 'exception', 'keyed.dead_letter'])
        expect(failed.events[1]!.attributes).toMatchObject({ 'keyed.attempt': 2 })
        expect(failed.events[3]!.attributes).toMatchObject({ 'keyed.dead_letter.topic': `${topic.name}.dlq` })
        expect(
          processSpans()
            .filter((s) => s !== failed)
            .map((s) => s.status.code),
        ).toEqual([api.SpanStatusCode.UNSET, api.SpanStatusCode.UNSET])

        await waitFor('the group to commit everything', h.timeoutMs, async () => (await consumer.lag()).total === 0)
        const { resourceMetrics } = await reader.collect()
        const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
        expect(sumOf(metrics, 'messaging.client.sent.messages')).toBe(3)
        expect(sumOf(metrics, 'messaging.client.consumed.messages')).toBeGreaterThanOrEqual(3)
        expect(sumOf(metrics, 'messaging.process.duration')).toBe(3)
        expect(sumOf(metrics, 'messaging.client.operation.duration')).toBe(2)
        expect(sumOf(metrics, 'keyed.consumer.dead_lettered.messages')).toBe(1)
        const lag = metrics.find((m) => m.descriptor.name === 'keyed.consumer.lag')
        expect(lag?.dataPoints.map((p) => p.attributes['messaging.destination.partition.id']).sort()).toEqual([
          '0',
          '1',
          '2',
        ])
        expect(
          lag?.dataPoints.every((p) => p.value === 0 && p.attributes['messaging.consumer.group.name'] === group),
        ).toBe(true)
      } finally {
        await h.closeAll()
        await tearDown()
      }
    },
  },
  {
    name: 'OpenTelemetry: subscribeBatch has one process span per batch, linked to the send span of each record in it',
    needs: ['opentelemetry'],
    async run(h) {
      const { api, exporter, tracerProvider, meterProvider, tearDown } = await setUpOpenTelemetry()
      try {
        const client = await h.client({ telemetry: { tracerProvider, meterProvider } })
        const topic = defineTopic(unique('otel-batch'), { partitions: 1 })
        const producer = client.producer()
        await producer.send(topic, { key: 'a', value: 1 })
        await producer.send(topic, { key: 'b', value: 2 })
        const active: Array<string | undefined> = []
        let handled = 0
        await client.consumer(h.consumerOptions(unique('group'))).subscribeBatch(
          topic,
          (batch) => {
            active.push(api.trace.getActiveSpan()?.spanContext().spanId)
            handled += batch.messages.length
          },
          { fromBeginning: true },
        )
        await waitFor('both records', h.timeoutMs, () => handled === 2)
        await waitFor(
          'the batch spans',
          h.timeoutMs,
          () => exporter.getFinishedSpans().filter((s) => s.name === `process ${topic.name}`).length === active.length,
        )
        const sends = exporter.getFinishedSpans().filter((s) => s.name === `send ${topic.name}`)
        const batches = exporter.getFinishedSpans().filter((s) => s.name === `process ${topic.name}`)
        expect(batches.map((s) => s.spanContext().spanId)).toEqual(active)
        expect(batches.every((s) => s.kind === api.SpanKind.CONSUMER && s.parentSpanContext === undefined)).toBe(true)
        expect(batches.flatMap((s) => s.links.map((l) => l.context.spanId)).sort()).toEqual(
          sends.map((s) => s.spanContext().spanId).sort(),
        )
        expect(batches.reduce((n, s) => n + (s.attributes['messaging.batch.message_count'] as number), 0)).toBe(2)
      } finally {
        await h.closeAll()
        await tearDown()
      }
    },
  },
]

/** The application's part: a context manager and a propagator registered globally, providers to give the client. */
async function setUpOpenTelemetry() {
  const api = await import('@opentelemetry/api')
  const { TracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = await import('@opentelemetry/sdk-trace')
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core')
  class Reader extends MetricReader {
    protected async onForceFlush() {}
    protected async onShutdown() {}
  }
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  const reader = new Reader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const tearDown = async () => {
    await tracerProvider.shutdown()
    await meterProvider.shutdown()
    api.context.disable()
    api.propagation.disable()
  }
  return { api, exporter, tracerProvider, meterProvider, reader, tearDown }
}
