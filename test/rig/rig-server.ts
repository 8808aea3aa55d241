// What the rig's server processes (clamd, redis-server) share: start and wait
// until the server answers, stop gently or kill, and never outlive the test
// process that started them.
import { ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import { waitFor } from './wait'

const START_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 3_000
const OUTPUT_LIMIT = 16 * 1024

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: Error }

// Servers not yet stopped. If the test process ends (normally, by an
// uncaught error or by a signal) they are killed and their temp dirs removed,
// so a crashed test does not leave a server holding its port.
const live = new Set<RigServer>()
let hooked = false

function reapAll(): void {
  for (const s of live) s.reap()
  live.clear()
}

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', reapAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      reapAll()
      process.removeListener(sig, onSignal)
      // Listening replaced the default "die by this signal"; restore it
      // unless someone else (e.g. the test runner) handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

export abstract class RigServer {
  private child!: ChildProcess
  private exited!: Promise<Exit>
  private output = ''

  protected constructor(protected readonly dir: string) {}

  /** Starts the server (again, for restart()). */
  protected abstract launch(): Promise<void>
  /** True once the server answers. */
  protected abstract ping(): Promise<boolean>

  get pid(): number {
    return this.child.pid ?? -1
  }

  /** Spawns the server and waits until ping() answers, or fails with what it printed. */
  protected async spawnAndWait(name: string, bin: string, args: string[]): Promise<void> {
    this.output = ''
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
      child.once('error', (error) => resolve({ code: null, signal: null, error }))
    })
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-OUTPUT_LIMIT)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    live.add(this)
    hookExit()

    let exit: Exit | undefined
    void this.exited.then((e) => (exit = e))
    try {
      await waitFor(`${name} to answer`, async () => {
        if (exit) throw new Error(`${name} exited before answering (${exit.error?.message ?? `code ${exit.code}, signal ${exit.signal}`})`)
        return this.ping()
      }, START_TIMEOUT_MS)
    } catch (err) {
      if (!exit) await this.terminate('SIGKILL')
      live.delete(this)
      throw new Error(`${(err as Error).message}:\n${this.output}`, { cause: err })
    }
    // A test that forgets stop() must not keep the process alive; the exit
    // hook kills the server then.
    child.unref()
    ;(child.stdout as unknown as net.Socket | null)?.unref()
    ;(child.stderr as unknown as net.Socket | null)?.unref()
  }

  private running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private async terminate(sig: NodeJS.Signals): Promise<void> {
    if (!this.running()) return
    this.child.ref()
    this.child.kill(sig)
    if (sig !== 'SIGKILL') {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS)
      })
      const r = await Promise.race([this.exited, timeout])
      clearTimeout(timer)
      if (r === 'timeout') this.child.kill('SIGKILL')
    }
    await this.exited
  }

  /** Synchronous last-resort cleanup for the exit hook. */
  reap(): void {
    if (this.running()) this.child.kill('SIGKILL')
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  /** What the server wrote to stdout/stderr (the tail), for failure messages. */
  log(): string {
    return this.output
  }

  async stop(): Promise<void> {
    live.delete(this)
    await this.terminate('SIGTERM')
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  /** SIGKILL now (to test a server that died). */
  async kill(): Promise<void> {
    await this.terminate('SIGKILL')
  }

  /** Starts again on the same socket or port, with the same data folder. */
  async restart(): Promise<void> {
    await this.terminate('SIGTERM')
    await this.launch()
  }
}
