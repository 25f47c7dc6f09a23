import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface MemberEvent {
  readonly ev: 'ready' | 'start' | 'done' | 'commit-error' | 'error'
  readonly t: number
  readonly key?: string
  readonly seq?: number
  readonly partition?: number
  readonly offset?: string
  readonly code?: string
  readonly message?: string
}

const fixture = fileURLToPath(new URL('./fixtures/member.ts', import.meta.url))

/** Runs test/fixtures/member.ts in a child process and collects its events. */
export class MemberProcess {
  readonly events: MemberEvent[] = []
  private readonly child: ChildProcess
  private exited = false

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    this.child.on('exit', () => (this.exited = true))
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as MemberEvent)
      } catch {
        // not an event
      }
    })
  }

  get ready(): boolean {
    return this.events.some((e) => e.ev === 'ready')
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal)
  }

  async kill(): Promise<void> {
    if (this.exited) return
    const gone = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await gone
  }
}
