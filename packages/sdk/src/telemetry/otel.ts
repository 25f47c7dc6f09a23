import type {
  Attributes,
  Context,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  ObservableGauge,
  ObservableResult,
  Span,
  TextMapGetter,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api'
import type { IncomingRecord, OutgoingRecord } from '../backend/contract.js'
import type { GroupLag } from '../lag.js'
import type { ClientTelemetry, ConsumerTelemetry, RecordObservation, SendObservation } from './hooks.js'
import type { Api } from './load.js'
import type { TelemetryOptions } from './options.js'

// Names from the OpenTelemetry semantic conventions for messaging (and Kafka), development status as of 2026.
const SYSTEM = 'messaging.system'
const OPERATION_NAME = 'messaging.operation.name'
const OPERATION_TYPE = 'messaging.operation.type'
const DESTINATION = 'messaging.destination.name'
const PARTITION = 'messaging.destination.partition.id'
const BATCH_COUNT = 'messaging.batch.message_count'
const GROUP = 'messaging.consumer.group.name'
const CLIENT_ID = 'messaging.client.id'
const KAFKA_KEY = 'messaging.kafka.message.key'
const KAFKA_OFFSET = 'messaging.kafka.offset'
const KAFKA_TOMBSTONE = 'messaging.kafka.message.tombstone'
const ERROR_TYPE = 'error.type'
// No registered attribute exists for these outside Kafka: keyed's own names.
const KEY = 'keyed.message.key'
const OFFSET = 'keyed.offset'

/** The buckets the conventions advise for messaging durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const SCOPE = '@keyed/sdk'
/** Most links on a batch's span (the SDK's default span limit). */
const MAX_LINKS = 128
/** Longest a lag reading may take when metrics are collected; a slower backend skips that collection. */
const LAG_TIMEOUT_MS = 5000

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A key's text, or undefined when its bytes are not UTF-8 (the conventions: no value without a canonical string form). */
function keyText(key: Uint8Array | null): string | undefined {
  if (key === null) return undefined
  try {
    return utf8.decode(key)
  } catch {
    return undefined
  }
}

/** A low-cardinality class of the error: a keyed error's code, else the error's class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.constructor.name : '_OTHER'
}

const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
}

/** Spans, context propagation and metrics of one client through @opentelemetry/api. */
export class OtelTelemetry implements ClientTelemetry {
  readonly tracer: Tracer
  readonly meter: Meter
  readonly sent: Counter
  readonly sendDuration: Histogram
  readonly consumed: Counter
  readonly processDuration: Histogram
  readonly deadLetters: Counter
  readonly lag: ObservableGauge
  readonly kafka: boolean
  /** False when the meter is the API's no-op one (no meter provider was registered or given): nothing to count then. */
  readonly metered: boolean
  /** A tracer provider was given, or one is registered globally (set once seen: a provider is not unregistered). */
  private tracing: boolean
  private readonly globalTracers: { getDelegate(): object } | undefined
  private readonly noTracers: object | undefined
  /** The attributes every span and data point of this client carries. */
  readonly base: Attributes
  /** Per topic (and partition), the attributes set when a span starts (what samplers see), built once. */
  private readonly sendAttributes = new Map<string, Attributes>()

  constructor(
    readonly api: Api,
    options: TelemetryOptions,
    system: string,
    clientId: string | undefined,
  ) {
    this.tracer = ((options.tracerProvider as TracerProvider | undefined) ?? api.trace).getTracer(SCOPE)
    // Without a provider the global one is a proxy delegating to the API's no-op provider, until one is registered.
    const global = api.trace.getTracerProvider()
    this.globalTracers = global instanceof api.ProxyTracerProvider ? global : undefined
    this.noTracers = new api.ProxyTracerProvider().getDelegate()
    this.tracing = options.tracerProvider !== undefined || this.globalTracers === undefined
    this.meter = ((options.meterProvider as MeterProvider | undefined) ?? api.metrics).getMeter(SCOPE)
    this.kafka = system === 'kafka'
    // The API hands out its no-op meter when no provider is registered (and does not swap it later, unlike tracers).
    this.metered = this.meter.constructor !== api.createNoopMeter().constructor
    this.base = { [SYSTEM]: system, ...(clientId !== undefined && { [CLIENT_ID]: clientId }) }
    const m = this.meter
    this.sent = m.createCounter('messaging.client.sent.messages', {
      unit: '{message}',
      description: 'Number of messages the producer attempted to send to the broker.',
    })
    this.sendDuration = m.createHistogram('messaging.client.operation.duration', {
      unit: 's',
      description: 'Duration of a send() call, from the call until the backend acknowledged or refused it.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
    this.consumed = m.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Number of messages delivered to the consumer.',
    })
    this.processDuration = m.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of handling one message, every try and its dead letter included.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
    this.deadLetters = m.createCounter('keyed.consumer.dead_lettered.messages', {
      unit: '{message}',
      description: 'Number of messages written to a dead-letter topic after their last failed try.',
    })
    this.lag = m.createObservableGauge('keyed.consumer.lag', {
      unit: '{message}',
      description: "Records after the consumer group's committed position, per partition.",
    })
  }

  /** Whether anything records spans or metrics; when not, only a context to pass on makes work. */
  live(): boolean {
    if (!this.tracing && this.globalTracers && this.globalTracers.getDelegate() !== this.noTracers) this.tracing = true
    return this.tracing || this.metered
  }

  send(topic: string): ((records: readonly OutgoingRecord[]) => SendObservation | undefined) | undefined {
    const { api } = this
    const parent = api.context.active()
    if (!this.live()) {
      // Nothing records: only a valid context to pass on makes work (checked only when there is one: a regex each).
      const context = api.trace.getSpanContext(parent)
      if (context === undefined || !api.trace.isSpanContextValid(context)) return undefined
    }
    const started = performance.now()
    return (records) => this.startSend(topic, records, parent, started)
  }

  private startSend(
    topic: string,
    records: readonly OutgoingRecord[],
    parent: Context,
    started: number,
  ): SendObservation | undefined {
    const { api } = this
    const first = records[0]
    const one = records.length === 1 && first !== undefined
    let attributes = this.sendAttributes.get(one ? `${topic}\0${first.partition}` : topic)
    if (!attributes) {
      attributes = {
        ...this.base,
        [OPERATION_NAME]: 'send',
        [OPERATION_TYPE]: 'send',
        [DESTINATION]: topic,
        ...(one && { [PARTITION]: String(first.partition) }),
      }
      this.sendAttributes.set(one ? `${topic}\0${first.partition}` : topic, attributes)
    }
    const span = this.tracer.startSpan(`send ${topic}`, { kind: api.SpanKind.PRODUCER, attributes }, parent)
    const recording = span.isRecording()
    // Nothing records this call and there is no context to pass on: the call goes on as without telemetry.
    if (!recording && !this.metered && !api.trace.isSpanContextValid(span.spanContext())) return undefined
    let headers: Record<string, string> | undefined
    if (recording || api.trace.isSpanContextValid(span.spanContext())) {
      const carrier: Record<string, string> = {}
      api.propagation.inject(api.trace.setSpan(parent, span), carrier)
      for (const _ in carrier) {
        headers = carrier
        break
      }
    }
    if (recording) {
      if (one) this.recordAttributes(span, first.key, first.value === null)
      else {
        span.setAttribute(BATCH_COUNT, records.length)
        const partition = records.every((r) => r.partition === first?.partition) ? first?.partition : undefined
        if (partition !== undefined) span.setAttribute(PARTITION, String(partition))
      }
    }
    return {
      headers,
      end: (metadata, error) => {
        if (metadata && one && span.isRecording()) this.offsetAttributes(span, metadata[0]?.offset)
        const metricAttributes = error === undefined ? attributes : { ...attributes, [ERROR_TYPE]: errorType(error) }
        if (error !== undefined) this.failed(span, error)
        span.end()
        if (!this.metered) return
        this.sent.add(records.length, metricAttributes)
        this.sendDuration.record((performance.now() - started) / 1000, metricAttributes)
      },
    }
  }

  consumer(groupId: string): ConsumerTelemetry {
    return new OtelConsumer(this, groupId)
  }

  recordAttributes(span: Span, key: Uint8Array | null, tombstone: boolean): void {
    const text = keyText(key)
    if (text !== undefined) span.setAttribute(this.kafka ? KAFKA_KEY : KEY, text)
    if (tombstone && this.kafka) span.setAttribute(KAFKA_TOMBSTONE, true)
  }

  offsetAttributes(span: Span, offset: string | undefined): void {
    if (offset === undefined) return
    span.setAttribute(OFFSET, offset)
    if (this.kafka && /^\d+$/.test(offset)) span.setAttribute(KAFKA_OFFSET, Number(offset))
  }

  failed(span: Span, error: unknown): void {
    span.recordException(error instanceof Error ? error : String(error))
    span.setAttribute(ERROR_TYPE, errorType(error))
    span.setStatus({
      code: this.api.SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    })
  }
}

/** A consumer's process spans (one per record, a child of the producer's context and linked to it) and metrics. */
class OtelConsumer implements ConsumerTelemetry {
  private readonly attributes = new Map<string, Attributes>()

  constructor(
    private readonly otel: OtelTelemetry,
    private readonly groupId: string,
  ) {}

  private attributesOf(topic: string, partition: number): Attributes {
    const id = `${topic}\0${partition}`
    let attributes = this.attributes.get(id)
    if (!attributes) {
      attributes = {
        ...this.otel.base,
        [OPERATION_NAME]: 'process',
        [OPERATION_TYPE]: 'process',
        [DESTINATION]: topic,
        [PARTITION]: String(partition),
        [GROUP]: this.groupId,
      }
      this.attributes.set(id, attributes)
    }
    return attributes
  }

  received(topic: string, partition: number, count: number): void {
    if (this.otel.metered) this.otel.consumed.add(count, this.attributesOf(topic, partition))
  }

  enabled(): boolean {
    // Something records, or a propagator may find a context in the headers for the handler to continue.
    return this.otel.live() || this.otel.api.propagation.fields().length > 0
  }

  process(record: IncomingRecord): RecordObservation | undefined {
    const { otel } = this
    const { api } = otel
    const attributes = this.attributesOf(record.topic, record.partition)
    // From the headers only, never the ambient context: a handler runs for the record, not for whatever was active
    // where the consumer happened to be created.
    const producer = api.propagation.extract(api.ROOT_CONTEXT, record.headers, headerGetter)
    const creation = api.trace.getSpanContext(producer)
    const linked = creation !== undefined && api.trace.isSpanContextValid(creation)
    const span = otel.tracer.startSpan(
      `process ${record.topic}`,
      { kind: api.SpanKind.CONSUMER, attributes, ...(linked && { links: [{ context: creation }] }) },
      producer,
    )
    if (span.isRecording()) {
      otel.recordAttributes(span, record.key, record.value === null)
      otel.offsetAttributes(span, record.offset)
    } else if (!otel.metered && !api.trace.isSpanContextValid(span.spanContext())) {
      // Nothing records it and there is no context for the handler to continue: it runs as without telemetry.
      return undefined
    }
    return new ProcessObservation(otel, span, api.trace.setSpan(producer, span), attributes)
  }

  processBatch(topic: string, partition: number, records: readonly IncomingRecord[]): RecordObservation | undefined {
    const { otel } = this
    const { api } = otel
    const attributes = this.attributesOf(topic, partition)
    // A batch has no single creation context: links to each record's (the conventions' batch processing), no parent.
    const links = []
    for (const record of records) {
      if (links.length === MAX_LINKS) break
      const creation = api.trace.getSpanContext(api.propagation.extract(api.ROOT_CONTEXT, record.headers, headerGetter))
      if (creation !== undefined && api.trace.isSpanContextValid(creation)) links.push({ context: creation })
    }
    const span = otel.tracer.startSpan(
      `process ${topic}`,
      { kind: api.SpanKind.CONSUMER, attributes: { ...attributes, [BATCH_COUNT]: records.length }, links },
      api.ROOT_CONTEXT,
    )
    if (!span.isRecording() && !otel.metered) return undefined
    return new ProcessObservation(otel, span, api.trace.setSpan(api.ROOT_CONTEXT, span), attributes)
  }

  deadLettered(record: IncomingRecord, deadLetterTopic: string): void {
    this.otel.deadLetters.add(1, {
      ...this.attributesOf(record.topic, record.partition),
      'keyed.dead_letter.topic': deadLetterTopic,
    })
  }

  observeLag(lag: () => Promise<GroupLag>): () => void {
    const { otel, groupId } = this
    let reading: Promise<GroupLag | undefined> | undefined
    const callback = async (result: ObservableResult) => {
      // One reading at a time, bounded: a slow backend makes a collection skip this gauge rather than pile up.
      reading ??= bounded(lag(), LAG_TIMEOUT_MS).finally(() => (reading = undefined))
      const current = await reading
      for (const p of current?.partitions ?? [])
        result.observe(p.lag, {
          ...otel.base,
          [DESTINATION]: p.topic,
          [PARTITION]: String(p.partition),
          [GROUP]: groupId,
        })
    }
    otel.lag.addCallback(callback)
    return () => otel.lag.removeCallback(callback)
  }
}

class ProcessObservation implements RecordObservation {
  private readonly started = performance.now()

  constructor(
    private readonly otel: OtelTelemetry,
    private readonly span: Span,
    private readonly context: Context,
    private readonly attributes: Attributes,
  ) {}

  run<A, R>(fn: (arg: A) => R, arg: A): R {
    return this.otel.api.context.with(this.context, fn, undefined, arg)
  }

  tryFailed(error: unknown): void {
    if (this.span.isRecording()) this.span.recordException(error instanceof Error ? error : String(error))
  }

  retrying(attempt: number, error: unknown): void {
    if (!this.span.isRecording()) return
    this.tryFailed(error)
    this.span.addEvent('keyed.retry', { 'keyed.attempt': attempt, [ERROR_TYPE]: errorType(error) })
  }

  end(error?: unknown, deadLetterTopic?: string): void {
    let attributes = this.attributes
    if (error !== undefined) {
      this.otel.failed(this.span, error)
      attributes = { ...attributes, [ERROR_TYPE]: errorType(error) }
    }
    if (deadLetterTopic !== undefined)
      this.span.addEvent('keyed.dead_letter', { 'keyed.dead_letter.topic': deadLetterTopic })
    this.span.end()
    if (this.otel.metered) this.otel.processDuration.record((performance.now() - this.started) / 1000, attributes)
  }
}

/** The promise's value, or undefined when it failed or took longer than `ms`. */
async function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise.catch(() => undefined),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
