import { describe, expect, it, vi } from 'vitest'
import { logLevel, type LogEntry } from 'kafkajs'
import { kafka } from '../src/index.js'

/** The backend's kafkajs log handler, as kafkajs calls it. */
function logOf(backend: ReturnType<typeof kafka>): (entry: LogEntry, secrets: readonly string[]) => void {
  return (backend as unknown as { log: (entry: LogEntry, secrets: readonly string[]) => void }).log.bind(backend)
}

const crash = (message: string): LogEntry => ({
  namespace: 'Consumer',
  level: logLevel.ERROR,
  label: 'ERROR',
  log: { timestamp: 'now', logger: 'kafkajs', message, groupId: 'g', retryCount: 0, stack: 'Error: …\n    at …' },
})

describe("kafkajs's log lines", () => {
  it('a consumer crash on a coordinator still loading (retried by kafkajs) is a warning without its stack; other crashes stay errors', () => {
    const backend = kafka({ brokers: ['127.0.0.1:9092'] })
    const lines: { level: string; obj: object; msg: string | undefined }[] = []
    const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
    backend.setLogger!({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') })
    const log = logOf(backend)
    log(crash("Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests"), [])
    log(crash('Crash: KafkaJSNumberOfRetriesExceeded: Connection error'), [])
    expect(lines.map((l) => l.level)).toEqual(['warn', 'error'])
    expect(lines[0]!.obj).not.toHaveProperty('stack')
    expect(lines[1]!.obj).toHaveProperty('stack')
  })

  it('with the default logger, such a warning is not printed (kafkajs logs errors only by default)', () => {
    const written: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    try {
      const log = logOf(kafka({ brokers: ['127.0.0.1:9092'] }))
      log(crash("Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests"), [])
      log(crash('Crash: KafkaJSNumberOfRetriesExceeded: Connection error'), [])
    } finally {
      vi.restoreAllMocks()
    }
    expect(written).toHaveLength(1)
    expect(written[0]).toMatch(/NumberOfRetriesExceeded/)
  })
})
