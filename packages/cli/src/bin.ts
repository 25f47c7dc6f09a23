#!/usr/bin/env node
import { run } from './program.js'

const code = await run(process.argv.slice(2))
// Exit once stdout is flushed: a client library's timers must not keep a finished command alive.
process.stdout.write('', () => process.exit(code))
