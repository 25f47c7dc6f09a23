import { readdirSync, existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import kafkaVersion from '../../../../scripts/kafka-version.json' with { type: 'json' }

/** The broker's resolved jars (kafka-clients among them), where scripts/kafka-lib.sh put them. */
export function kafkaLibs(): string {
  const version = process.env.KEYED_KAFKA_VERSION ?? kafkaVersion.version
  const dir = join(process.env.KEYED_CACHE ?? join(homedir(), '.cache', 'keyed'), `kafka-${version}`, 'libs')
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith('kafka-clients-'))) {
    throw new Error(
      `No kafka-clients jar in ${dir}: run bash scripts/kafka-start.sh first (it resolves Kafka ${version} from Maven Central).`,
    )
  }
  return dir
}

const javaArgs = (source: string, args: string[]) => [
  '-cp',
  `${kafkaLibs()}/*`,
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  source,
  ...args,
]

/** Starts a single-file Java program against the jars, for one that runs beside the test; the caller kills it. */
export function spawnJava(source: string, args: string[]): ChildProcessWithoutNullStreams {
  return spawn('java', javaArgs(source, args))
}

/** Runs a single-file Java program against the jars; returns its stdout lines. */
export function runJava(source: string, args: string[], stdin: string): string[] {
  const result = spawnSync('java', javaArgs(source, args), {
    input: stdin,
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (result.status !== 0)
    throw new Error(
      `java ${source} failed (exit ${String(result.status ?? result.signal)}): ${result.error?.message ?? ''}\n${result.stderr}`,
    )
  return result.stdout.trim().split('\n')
}
