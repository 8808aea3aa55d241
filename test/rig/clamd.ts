// A private clamd for the end-to-end tests. Each instance gets its own temp
// dir with a database holding only the EICAR test signature and its own
// socket, so the system's clamav-daemon, /var/lib/clamav and /run/clamav are
// never used and nothing ever needs a signature download.
import { spawn, type ChildProcess } from 'node:child_process'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'

// The standard 68-byte anti-virus test file (eicar.org).
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

const SIGNATURE = 'Eicar-Test-Signature'

// The name clamd reports for it. clamd appends ".UNOFFICIAL" to every name
// from a database that is not a signed Talos .cvd/.cld, and ours cannot be.
export const EICAR_VIRUS = `${SIGNATURE}.UNOFFICIAL`

const START_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 3_000
const PING_TIMEOUT_MS = 2_000
const SCAN_TIMEOUT_MS = 30_000
const CHUNK = 64 * 1024
const OUTPUT_LIMIT = 16 * 1024

// /usr/sbin is not on every user's PATH.
const CLAMD_BIN = fs.existsSync('/usr/sbin/clamd') ? '/usr/sbin/clamd' : 'clamd'

// Instances not yet stopped. If the test process ends (normally, by an
// uncaught error or by a signal) they are killed and their temp dirs removed,
// so a crashed test does not leave clamd running.
const live = new Set<Clamd>()
let hooked = false

function reapAll(): void {
  for (const c of live) c.reap()
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

function writeDatabase(dbDir: string): void {
  const body = Buffer.from(EICAR, 'latin1')
  const md5 = crypto.createHash('md5').update(body).digest('hex')
  fs.mkdirSync(dbDir)
  // Whole-file hash: matches the exact 68 bytes, also when clamd has
  // extracted them from a zip or decoded them from a MIME part.
  fs.writeFileSync(path.join(dbDir, 'rig.hdb'), `${md5}:${body.length}:${SIGNATURE}\n`)
  // Body match at any offset: also catches EICAR with a line ending after it
  // or typed into a plain-text mail body, which the hash misses.
  fs.writeFileSync(path.join(dbDir, 'rig.ndb'), `${SIGNATURE}:0:*:${body.toString('hex')}\n`)
}

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: Error }

export class Clamd {
  readonly socket: string
  private readonly dir: string
  private readonly conf: string
  private readonly endpoint: net.NetConnectOpts
  private child!: ChildProcess
  private exited!: Promise<Exit>
  private output = ''

  private constructor(dir: string, socket: string, endpoint: net.NetConnectOpts) {
    this.dir = dir
    this.socket = socket
    this.endpoint = endpoint
    this.conf = path.join(dir, 'clamd.conf')
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  static async start(opts: { tcp?: boolean } = {}): Promise<Clamd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-clamd-'))
    try {
      let clamd: Clamd
      const listen: string[] = []
      if (opts.tcp) {
        const port = await freePort()
        clamd = new Clamd(dir, `127.0.0.1:${port}`, { host: '127.0.0.1', port })
        listen.push(`TCPSocket ${port}`, 'TCPAddr 127.0.0.1')
      } else {
        const sock = path.join(dir, 'clamd.sock')
        clamd = new Clamd(dir, sock, { path: sock })
        listen.push(`LocalSocket ${sock}`, 'LocalSocketMode 600')
      }
      writeDatabase(path.join(dir, 'db'))
      fs.mkdirSync(path.join(dir, 'tmp'))
      // No User line: clamd keeps the invoking user (root here) instead of
      // switching to "clamav", which could not read the temp dir.
      const conf = [
        'Foreground yes',
        ...listen,
        `DatabaseDirectory ${path.join(dir, 'db')}`,
        `PidFile ${path.join(dir, 'clamd.pid')}`,
        `TemporaryDirectory ${path.join(dir, 'tmp')}`,
        // Logs go to stdout/stderr, kept in memory for failure messages.
        'LogSyslog no',
        'LogTime no',
        'StreamMaxLength 25M',
        // The database never changes; skip the periodic reload check.
        'SelfCheck 0',
        // No bytecode signatures to load, so skip the bytecode engine.
        'Bytecode no',
      ]
      fs.writeFileSync(clamd.conf, conf.join('\n') + '\n')
      await clamd.launch()
      return clamd
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async launch(): Promise<void> {
    this.output = ''
    const child = spawn(CLAMD_BIN, ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] })
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
        throw new Error(`clamd exited before answering PING (${how}):\n${this.output}`)
      }
      if (await this.ping()) break
      if (Date.now() > deadline) {
        await this.terminate('SIGKILL')
        live.delete(this)
        throw new Error(`clamd did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.output}`)
      }
      await sleep(25)
    }
    // A test that forgets stop() must not keep the process alive; the exit
    // hook kills clamd then.
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

  /** What clamd wrote to stdout/stderr (the tail), for failure messages. */
  log(): string {
    return this.output
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.request([Buffer.from('zPING\0')], PING_TIMEOUT_MS)) === 'PONG'
    } catch {
      return false
    }
  }

  async scan(buf: Buffer): Promise<string> {
    const parts: Buffer[] = [Buffer.from('zINSTREAM\0')]
    for (let off = 0; off < buf.length; off += CHUNK) {
      const chunk = buf.subarray(off, off + CHUNK)
      const len = Buffer.alloc(4)
      len.writeUInt32BE(chunk.length)
      parts.push(len, chunk)
    }
    parts.push(Buffer.alloc(4)) // zero-length chunk ends the stream
    return this.request(parts, SCAN_TIMEOUT_MS)
  }

  // Sends one z-command and resolves with the reply up to its NUL. clamd may
  // answer early (e.g. size limit) and close; the reply still wins.
  private request(parts: Buffer[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let done = false
      const finish = (err: Error | null, reply?: string): void => {
        if (done) return
        done = true
        sock.destroy()
        if (err) reject(err)
        else resolve(reply ?? '')
      }
      const sock = net.connect(this.endpoint, () => {
        for (const p of parts) sock.write(p)
      })
      sock.setTimeout(timeoutMs, () => finish(new Error(`clamd ${this.socket}: no reply in ${timeoutMs} ms`)))
      sock.on('data', (d: Buffer) => {
        chunks.push(d)
        const all = Buffer.concat(chunks)
        const nul = all.indexOf(0)
        if (nul >= 0) finish(null, all.subarray(0, nul).toString().trim())
      })
      sock.on('end', () => {
        const all = Buffer.concat(chunks)
        if (all.length) finish(null, all.toString().replace(/\0.*$/s, '').trim())
        else finish(new Error(`clamd ${this.socket}: closed without a reply`))
      })
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
