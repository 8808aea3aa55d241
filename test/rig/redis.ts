// A private redis-server for the end-to-end tests: loopback only, a free
// port, no persistence, its working dir in a temp folder. The system's redis
// service (port 6379) is never used.
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'

const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 3_000
const COMMAND_TIMEOUT_MS = 5_000
const OUTPUT_LIMIT = 16 * 1024

const REDIS_BIN = fs.existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server'

export type Reply = string | number | null | Reply[]

// Instances not yet stopped. If the test process ends (normally, by an
// uncaught error or by a signal) they are killed and their temp dirs removed,
// so a crashed test does not leave redis-server holding its port.
const live = new Set<Redis>()
let hooked = false

function reapAll(): void {
  for (const r of live) r.reap()
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

class RedisError extends Error {}

// Parses one RESP2 reply from buf at off. Returns undefined while the reply
// is incomplete, so the caller can wait for more bytes.
function parse(buf: Buffer, off: number): { value: Reply | RedisError; end: number } | undefined {
  const eol = buf.indexOf('\r\n', off)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[off])
  const line = buf.toString('utf8', off + 1, eol)
  const next = eol + 2
  switch (type) {
    case '+':
      return { value: line, end: next }
    case '-':
      return { value: new RedisError(line), end: next }
    case ':':
      return { value: Number(line), end: next }
    case '$': {
      const len = Number(line)
      if (len < 0) return { value: null, end: next }
      if (buf.length < next + len + 2) return undefined
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 }
    }
    case '*': {
      const n = Number(line)
      if (n < 0) return { value: null, end: next }
      const items: Reply[] = []
      let at = next
      for (let i = 0; i < n; i++) {
        const item = parse(buf, at)
        if (!item) return undefined
        // An error inside an array (EXEC) is kept as its message.
        items.push(item.value instanceof RedisError ? item.value.message : item.value)
        at = item.end
      }
      return { value: items, end: at }
    }
    default:
      throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`)
  }
}

function encode(args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`]
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`)
  return Buffer.from(parts.join(''))
}

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: Error }

export class Redis {
  readonly host = HOST
  readonly port: number
  private readonly dir: string
  private child!: ChildProcess
  private exited!: Promise<Exit>
  private output = ''

  private constructor(dir: string, port: number) {
    this.dir = dir
    this.port = port
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  static async start(opts: { port?: number } = {}): Promise<Redis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-redis-'))
    try {
      const redis = new Redis(dir, opts.port ?? (await freePort(HOST)))
      await redis.launch()
      return redis
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async launch(): Promise<void> {
    this.output = ''
    const args = [
      '--bind', HOST,
      '--port', String(this.port),
      '--dir', this.dir,
      // No persistence: every start is empty and nothing is written.
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      // Log to stdout, kept in memory for failure messages.
      '--logfile', '',
      '--loglevel', 'warning',
    ]
    const child = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
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
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      if (exit) {
        live.delete(this)
        const how = exit.error?.message ?? `code ${exit.code}, signal ${exit.signal}`
        throw new Error(`redis-server exited before answering PING (${how}):\n${this.output}`)
      }
      if (await this.ping()) break
      if (Date.now() > deadline) {
        await this.terminate('SIGKILL')
        live.delete(this)
        throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.output}`)
      }
      await sleep(25)
    }
    // A test that forgets stop() must not keep the process alive; the exit
    // hook kills redis-server then.
    child.unref()
    ;(child.stdout as unknown as net.Socket | null)?.unref()
    ;(child.stderr as unknown as net.Socket | null)?.unref()
  }

  private async ping(): Promise<boolean> {
    try {
      return (await this.command('PING')) === 'PONG'
    } catch {
      return false
    }
  }

  private running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  // SIGTERM makes redis shut down like SHUTDOWN; with no save points
  // configured it writes nothing.
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

  /** What redis-server wrote to stdout/stderr (the tail), for failure messages. */
  log(): string {
    return this.output
  }

  /**
   * Sends one command on a fresh connection and returns the decoded reply:
   * status and bulk replies as strings, integers as numbers, nil as null,
   * arrays as arrays. An error reply rejects.
   */
  command(...args: string[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0)
      let done = false
      const finish = (err: Error | null, value?: Reply): void => {
        if (done) return
        done = true
        sock.destroy()
        if (err) reject(err)
        else resolve(value ?? null)
      }
      const sock = net.connect({ host: this.host, port: this.port }, () => sock.write(encode(args)))
      sock.setTimeout(COMMAND_TIMEOUT_MS, () =>
        finish(new Error(`redis ${this.host}:${this.port}: no reply to ${args[0]} in ${COMMAND_TIMEOUT_MS} ms`)),
      )
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        let r: ReturnType<typeof parse>
        try {
          r = parse(buf, 0)
        } catch (err) {
          finish(err as Error)
          return
        }
        if (!r) return
        if (r.value instanceof RedisError) finish(new Error(`redis ${args[0]}: ${r.value.message}`))
        else finish(null, r.value)
      })
      sock.on('end', () => finish(new Error(`redis ${this.host}:${this.port}: closed without a reply to ${args[0]}`)))
      sock.on('error', (err) => finish(err))
    })
  }

  async stop(): Promise<void> {
    live.delete(this)
    await this.terminate('SIGTERM')
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  async kill(): Promise<void> {
    await this.terminate('SIGKILL')
  }

  async restart(): Promise<void> {
    await this.terminate('SIGTERM')
    await this.launch()
  }
}
