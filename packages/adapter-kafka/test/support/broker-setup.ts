import { runScript } from './scripts.js'

/** Starts the single test broker on 127.0.0.1:9092 (a no-op when one answers); the tests fail if it cannot start. */
export default function setup(): void {
  runScript('kafka-start.sh')
}
