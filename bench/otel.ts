// What OpenTelemetry costs keyed, on the memory backend (CPU-bound, so the cost is not hidden behind network waits),
// in one run: produce (batched sends, and concurrent single-record sends: one span per call) and consume (one span
// per record) with telemetry off (`telemetry: false`, the same path as @opentelemetry/api not installed), with the
// API loaded but no provider registered, and with a tracer and a meter provider, a propagator and a context manager
// (spans batched to an exporter that drops them). Modes alternate within each round; ratios are per round, to 'off'.
// Rates are records per CPU-second of this process (process.cpuUsage), which load from other processes moves less
// than wall time.
// Usage: npm run -w bench bench:otel (node --expose-gc, to collect garbage before each measurement). Env: RECORDS (default 20000), CONSUME (default 100000), ROUNDS (default 7).
import { context, propagation } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace'
import { createClient, defineTopic, type ClientOptions } from '@keyed/sdk'
import { memory, MemoryBroker } from '@keyed/adapter-memory'
import { ratios, spread } from './rounds.js'

const RECORDS = Number(process.env.RECORDS ?? 20_000)
const CONSUME = Number(process.env.CONSUME ?? 100_000)
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const BATCH = 1000

type Mode = 'off' | 'api' | 'provider'
const MODES: readonly Mode[] = ['off', 'api', 'provider']

const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }
class IdleReader extends MetricReader {
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

/** The client options of a mode, and what to undo after it. */
function setUp(mode: Mode): { telemetry: ClientOptions['telemetry']; tearDown: () => Promise<void> } {
  if (mode === 'off') return { telemetry: false, tearDown: async () => {} }
  if (mode === 'api') return { telemetry: undefined, tearDown: async () => {} }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: dropping })] })
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] })
  return {
    telemetry: { tracerProvider, meterProvider },
    tearDown: async () => {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
      context.disable()
      propagation.disable()
    },
  }
}

const value = { id: 0, customer: 'customer-000000', amount: 123.45, currency: 'EUR', note: 'x'.repeat(24) }
const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `customer-${i % 5000}`, value: { ...value, id: i } }))
const rate = (n: number, ms: number) => (n / ms) * 1000
/** CPU milliseconds this process used since `from`: on a shared machine a steadier measure than wall time. */
/** Collects the garbage of earlier runs first (node --expose-gc), so no mode pays for another's. */
const collect = () => (globalThis as { gc?: () => void }).gc?.()
const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from)
  return (used.user + used.system) / 1000
}
let seq = 0

async function produce(mode: Mode, perCall: number): Promise<number> {
  const { telemetry, tearDown } = setUp(mode)
  const broker = new MemoryBroker()
  const client = createClient({ backend: memory({ broker }), telemetry })
  const topic = defineTopic(`bench-otel-${seq++}`, { partitions: 6 })
  const producer = client.producer()
  const all = records(RECORDS)
  await producer.send(topic, all.slice(0, 10))
  collect()
  const t0 = process.cpuUsage()
  if (perCall === 1) await Promise.all(all.map((r) => producer.send(topic, r)))
  else for (let i = 0; i < all.length; i += perCall) await producer.send(topic, all.slice(i, i + perCall))
  const perSec = rate(all.length, cpuMs(t0))
  await client.close()
  broker.close()
  await tearDown()
  return perSec
}

async function consume(mode: Mode): Promise<number> {
  const { telemetry, tearDown } = setUp(mode)
  const broker = new MemoryBroker()
  // The records are written without telemetry: every mode reads the same bytes (with no trace header).
  const writer = createClient({ backend: memory({ broker }), telemetry: false })
  const topic = defineTopic(`bench-otel-consume-${seq++}`, { partitions: 6 })
  const all = records(CONSUME)
  for (let i = 0; i < all.length; i += BATCH) await writer.producer().send(topic, all.slice(i, i + BATCH))
  await writer.close()
  const client = createClient({ backend: memory({ broker }), telemetry })
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  collect()
  const t0 = process.cpuUsage()
  await client.consumer({ groupId: 'bench', maxBatchSize: BATCH }).subscribe(
    topic,
    () => {
      if (++seen === CONSUME) done()
    },
    { fromBeginning: true },
  )
  await finished
  const perSec = rate(CONSUME, cpuMs(t0))
  await client.close()
  broker.close()
  await tearDown()
  return perSec
}

const cases: Array<[string, (mode: Mode) => Promise<number>]> = [
  [`produce, ${RECORDS} records in calls of ${BATCH}`, (mode) => produce(mode, BATCH)],
  [`produce, ${RECORDS} concurrent single-record sends`, (mode) => produce(mode, 1)],
  [`consume, ${CONSUME} records, one member, 6 partitions`, consume],
]

// A warm-up round of everything, not counted.
for (const [, run] of cases) for (const mode of MODES) await run(mode)
console.log(
  `OpenTelemetry overhead on the memory backend, ${ROUNDS} rounds, records per CPU-second as median (min–max):`,
)
for (const [label, run] of cases) {
  const results: Record<Mode, number[]> = { off: [], api: [], provider: [] }
  for (let r = 0; r < ROUNDS; r++) {
    // The order of the modes rotates from round to round, so none always runs first (or after a GC-heavy one).
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(r + k) % MODES.length]!
      results[mode].push(await run(mode))
    }
  }
  console.log(label)
  console.log(`  off (no API)          ${spread(results.off)}`)
  console.log(
    `  API, no provider      ${spread(results.api)}   ratio ${spread(ratios(results.api, results.off), 'ratio')}`,
  )
  console.log(
    `  provider, no-op export ${spread(results.provider)}   ratio ${spread(ratios(results.provider, results.off), 'ratio')}`,
  )
}
