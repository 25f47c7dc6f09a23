import { Command, InvalidArgumentError, Option } from 'commander'
import type { Backend } from '@keyed/sdk/backend'
import { openBackend, type OpenedBackend } from './backend-url.js'
import { describeFailure, EXIT, UsageError } from './errors.js'
import { output } from './output.js'
import { keySource, type KeySourceOptions } from './commands/key-source.js'
import { analyzeCommand } from './commands/analyze.js'
import { planCommand } from './commands/plan.js'
import { lagCommand } from './commands/lag.js'
import { migrateCommand } from './commands/migrate.js'
import { seedMemory } from './seed.js'

const VERSION = '0.1.0'

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'.`)
    return n
  }
}

function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number above 0, got '${value}'.`)
  return n
}

interface GlobalOptions {
  backend: string
  json: boolean
  seed?: string
}

/** Runs one command line; resolves with the exit code. Expected failures print one line (and JSON with --json), never a stack. */
export async function run(argv: readonly string[]): Promise<number> {
  let opened: OpenedBackend | undefined
  let json = argv.includes('--json')
  const backend = async (patient = false): Promise<OpenedBackend> => {
    opened ??= await openBackend(program.opts<GlobalOptions>().backend, patient)
    return opened
  }
  /** The backend with the test-only seed loaded (memory backends live in one process). */
  const seeded = async (patient = false): Promise<OpenedBackend> => {
    const b = await backend(patient)
    const seed = program.opts<GlobalOptions>().seed
    if (seed !== undefined) {
      if (b.backend.name !== 'memory')
        throw new UsageError('--seed is for the memory backend only (its state lives in this process).')
      await seedMemory(b.backend, seed)
    }
    return b
  }
  const program = new Command('keyed')
    .description(
      'Key-skew analysis, partition planning, consumer lag and order-preserving topic migration for keyed topics.',
    )
    .version(VERSION)
    .addOption(
      new Option('--backend <url>', 'kafka://host:port[,host:port], redis://host:port or memory')
        .env('KEYED_BACKEND')
        .default('memory'),
    )
    .option('--json', 'print the result as JSON on stdout (errors too)', false)
    .addOption(
      new Option(
        '--seed <file>',
        'memory backend only: load topics, records and group commits from a JSON file first (for tests)',
      ).hideHelp(),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  program.hook('preAction', () => {
    json = program.opts<GlobalOptions>().json
  })

  const keySourceOptions = (cmd: Command) =>
    cmd
      .option('--keys <file>', "keys one per line from a file ('-' for stdin) instead of a topic")
      .option('--partitions <n>', 'the partition count for --keys input', integer(1))
      .option('--sample <n>', 'read about N records of the topic instead of all', integer(1))
      .option('--key-format <format>', 'how keys read from a topic are shown: utf8, hex or base64', 'utf8')

  const keys = program.command('keys').description('look at keys')
  keySourceOptions(
    keys
      .command('analyze')
      .argument('[topic]', 'the topic to read (all records up to its end offsets), or none with --keys')
      .description('records and distinct keys per partition, skew, hot keys, keyless share and a verdict'),
  )
    .option('--top <n>', 'how many hot keys to show', integer(1), 10)
    .option(
      '--fail-on-skew <x>',
      'exit 2 when the busiest partition has more than X times the mean load',
      positiveNumber,
    )
    .action(async (topic: string | undefined, options: KeySourceOptions & { top: number; failOnSkew?: number }) => {
      const input = await keySource(topic, options, () => seeded())
      analyzeCommand(input, options, output(json))
    })

  const partitions = program.command('partitions').description('plan partition counts')
  keySourceOptions(
    partitions
      .command('plan')
      .argument('[topic]', 'the topic whose keys to plan for, or none with --keys')
      .description(
        'which keys and records a partition count change would move, what it means for ordering, and counts that move fewer',
      ),
  )
    .requiredOption('--to <n>', 'the partition count to plan for', integer(1))
    .option('--show <n>', 'how many moved keys to list', integer(0), 10)
    .action(async (topic: string | undefined, options: KeySourceOptions & { to: number; show: number }) => {
      const input = await keySource(topic, options, () => seeded())
      planCommand(input, options.to, options.show, output(json))
    })

  program
    .command('lag')
    .argument('<groupId>', 'the consumer group')
    .argument('[topic]', 'only this topic (default: every topic the group committed in)')
    .description('committed position, end offset and lag per partition of a consumer group')
    .action(async (groupId: string, topic: string | undefined) => {
      const b = await seeded()
      await lagCommand(b.backend, b.display, groupId, topic, output(json))
    })

  const topic = program.command('topic').description('work on topics')
  topic
    .command('migrate')
    .argument('<from>', 'the source topic')
    .argument('<to>', 'the target topic (created with the source settings and --partitions)')
    .requiredOption('--partitions <n>', 'partition count of the target', integer(1))
    .option('--group <id>', 'the consumer group that records the copy position (default keyed-migrate.<from>.<to>)')
    .option('--batch <n>', 'most records read and sent per batch', integer(1), 1000)
    .option('--no-verify', 'skip the final check that every key arrived complete and in order')
    .description(
      'copies every record to a new topic in per-key order with a strict producer; resumable; verifies at the end',
    )
    .action(
      async (
        from: string,
        to: string,
        options: { partitions: number; group?: string; batch: number; verify: boolean },
      ) => {
        const b = await seeded(true)
        await migrateCommand(b.backend, b.display, { from, to, ...options }, output(json))
      },
    )

  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // Commander printed its message (or the help or the version) already; with --json a refusal is JSON on stdout too.
      const exit = (error as { exitCode?: number }).exitCode ?? EXIT.error
      if (exit === 0) return EXIT.ok
      if (json)
        writeJsonError({ code: 'USAGE', message: commanderMessage(code, (error as Error).message), retriable: false })
      return EXIT.error
    }
    const failure = describeFailure(error)
    process.stderr.write(`keyed: ${failure.message}\n`)
    if (!failure.expected && process.env.KEYED_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`)
    // A failed check (--fail-on-skew, a verification) already printed its result, which says so.
    if (json && failure.code !== 'CHECK_FAILED') writeJsonError(failure)
    return failure.exit
  } finally {
    if (opened) await closeWithin(opened.backend, 5000)
  }
}

function writeJsonError(failure: { code: string; message: string; retriable: boolean }): void {
  const { code, message, retriable } = failure
  process.stdout.write(`${JSON.stringify({ error: { code, message, retriable } }, null, 2)}\n`)
}

/** Commander's message without its 'error: ' prefix; for help shown because no command was given, what was missing. */
function commanderMessage(code: string, message: string): string {
  if (code === 'commander.help' || code === 'commander.helpDisplayed')
    return 'no command given (run with --help for usage).'
  return message.replace(/^error: /, '')
}

async function closeWithin(backend: Backend, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    backend.close().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ])
  clearTimeout(timer)
}
