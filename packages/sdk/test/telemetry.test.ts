import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { createClient, defineTopic } from '../src/index.js'
import { recordingBackend } from './recording-backend.js'

const topic = defineTopic('t', { partitions: 2 })
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/

describe('trace context in the headers of sent records', () => {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  const inParent = <T>(fn: () => Promise<T>) =>
    context.with(trace.setSpan(context.active(), tracerProvider.getTracer('app').startSpan('request')), fn)

  describe('with a propagator and a context manager registered', () => {
    beforeEach(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
      propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    })
    afterEach(() => {
      context.disable()
      propagation.disable()
      exporter.reset()
    })

    it('injects the send span as W3C traceparent into every record; a traceparent the record has is kept', async () => {
      const backend = recordingBackend()
      const client = createClient({ backend, telemetry: { tracerProvider } })
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
      await inParent(() =>
        client.producer().send(topic, [
          { key: 'a', value: 1 },
          { key: 'b', value: 2, headers: { traceparent: own, other: 'x' } },
        ]),
      )
      const [a, b] = backend.sent.flat()
      const send = exporter.getFinishedSpans().find((s) => s.name === 'send t')!
      expect(a!.headers.traceparent).toMatch(TRACEPARENT)
      expect(a!.headers.traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`)
      expect(b!.headers).toEqual({ traceparent: own, other: 'x' })
      await client.close()
    })

    it('telemetry: false sends no trace context, even inside an active span', async () => {
      const backend = recordingBackend()
      const client = createClient({ backend, telemetry: false })
      await inParent(() => client.producer().send(topic, { key: 'a', value: 1 }))
      expect(backend.sent.flat()[0]!.headers).toEqual({})
      await client.close()
    })
  })

  it('with the API but nothing registered, records go out as without it', async () => {
    const backend = recordingBackend()
    const client = createClient({ backend })
    await client.producer().send(topic, { key: 'a', value: 1, headers: { h: 'v' } })
    expect(backend.sent.flat()[0]!.headers).toEqual({ h: 'v' })
    await client.close()
  })
})
