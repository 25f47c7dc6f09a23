import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ConfigError, createClient, defineTopic, type Logger } from '../src/index.js'
import { raw, scriptedBackend } from './scripted-backend.js'

const orders = defineTopic('t', { value: z.object({ amount: z.number() }) })

function capturing(): Logger & { lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = []
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

afterEach(() => vi.restoreAllMocks())

describe('createClient({ logger })', () => {
  it('a consumer that stops logs the error through the logger, not stderr', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {})
    const logger = capturing()
    const backend = scriptedBackend([raw({ offset: '0', value: Buffer.from('{"amount":1}') })])
    const setLogger = vi.fn()
    const client = createClient({ backend: { ...backend, setLogger }, logger })
    const consumer = client.consumer({ groupId: 'g', retry: { attempts: 1 } })
    await consumer.subscribe(orders, () => {
      throw new Error('boom')
    })
    await vi.waitFor(() => expect(logger.lines).toHaveLength(1))
    expect(logger.lines[0]).toMatchObject({ level: 'error', obj: { groupId: 'g' }, msg: "consumer 'g' stopped" })
    expect((logger.lines[0]!.obj as { err: Error }).err.message).toMatch(/boom/)
    expect(stderr).not.toHaveBeenCalled()
    // The backend got the client's logger (wrapped so a logger that throws never breaks keyed).
    expect(setLogger).toHaveBeenCalledTimes(1)
    setLogger.mock.calls[0]![0].warn({ x: 1 }, 'from the backend')
    expect(logger.lines[1]).toEqual({ level: 'warn', obj: { x: 1 }, msg: 'from the backend' })
    await client.close().catch(() => undefined)
  })

  it('without a logger, errors still go to stderr and nothing else is printed', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {})
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const backend = scriptedBackend([raw({ offset: '0', value: Buffer.from('{"amount":1}') })])
    let given: Logger | undefined
    const client = createClient({ backend: { ...backend, setLogger: (l: Logger) => (given = l) } })
    given!.debug({}, 'quiet')
    given!.info({}, 'quiet')
    given!.warn({}, 'quiet')
    await client.consumer({ groupId: 'g', retry: { attempts: 1 } }).subscribe(orders, () => {
      throw new Error('boom')
    })
    await vi.waitFor(() => expect(stderr).toHaveBeenCalledTimes(1))
    expect(stderr.mock.calls[0]![0]).toBe("[keyed] consumer 'g' stopped")
    expect(log).not.toHaveBeenCalled()
    await client.close().catch(() => undefined)
  })

  it('a logger that throws does not break the consumer; one missing a method is a ConfigError', async () => {
    const throwing: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {
        throw new Error('logger down')
      },
    }
    const client = createClient({
      backend: scriptedBackend([raw({ offset: '0', value: Buffer.from('{"amount":1}') })]),
      logger: throwing,
    })
    const consumer = client.consumer({ groupId: 'g', retry: { attempts: 1 } })
    await consumer.subscribe(orders, () => {
      throw new Error('boom')
    })
    await expect(consumer.stopped()).rejects.toThrow(/boom/)
    await client.close().catch(() => undefined)
    expect(() =>
      createClient({ backend: scriptedBackend([]), logger: { info() {}, warn() {}, error() {} } as unknown as Logger }),
    ).toThrow(ConfigError)
  })
})
