// A Haraka node for the benchmark, set up like the test rig's (the package
// installed from its tarball into a `haraka -i` node, the same smtp.ini and
// connection.ini settings, every resolver on the loopback DNS server) but
// with exactly the config/plugins lines the scenario gives, PROXY from
// loopback only for the scenarios that ask (smtp-source does not speak it;
// the realistic case's client does), and the process id
// exposed so its CPU time and memory can be read from /proc.
import { ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { editIni, ROOT, templateNode } from '../rig/haraka'
import { freePort } from '../rig/ports'
import { onCleanup } from './cleanup'

const HARAKA_BIN = path.join(ROOT, 'node_modules', 'Haraka', 'bin', 'haraka')
const PRELOAD = path.join(ROOT, 'dist', 'test', 'rig', 'dns-preload.js')
const TEST_ACCEPT = path.join(ROOT, 'dist', 'test', 'rig', 'node-plugins', 'test_accept.js')
const OUTPUT_LIMIT = 256 * 1024
const SEVERE = /\[(WARN|ERROR|CRIT|ALERT|EMERG)\]/
// Logged by every node made with `haraka -i` at start: it has no TLS
// certificate, and the benchmark does not use STARTTLS.
const HARMLESS = /\[core\] tls (key|cert) \S+ could not be loaded/

export function harakaVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'Haraka', 'package.json'), 'utf8')) as { version: string }
  return pkg.version
}

export interface BenchNodeOptions {
  plugins: string[]
  config?: Record<string, string>
  /** host:port of the loopback DNS server. */
  dns: string
  logLevel?: string
  /** Link the template node's node_modules (the package installed with npm) into the node (default true). */
  withPackage?: boolean
  /** Write a V8 CPU profile of the whole process to this file when Haraka stops. */
  cpuProfile?: string
  /** CPUs Haraka may run on (taskset's list, e.g. "1"); any when unset. */
  cpus?: string
  /** Take PROXY lines from loopback clients (connection.ini [haproxy] hosts). */
  proxy?: boolean
}

export class BenchHaraka {
  private output = ''
  private severe: string[] = []
  private partial = ''
  private exitCode: number | null | undefined = undefined
  private readonly exited: Promise<number | null>
  private readonly dropCleanup: () => void

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: ChildProcess,
    /** Haraka waits for a PROXY line before its greeting. */
    private readonly proxy: boolean,
    /** Where the main thread's CPU profile goes, when profiling. */
    private readonly cpuProfile: string | undefined,
  ) {
    const take = (d: Buffer): void => {
      const text = d.toString()
      if (this.output.length < OUTPUT_LIMIT) this.output += text
      const lines = (this.partial + text).split('\n')
      this.partial = lines.pop() ?? ''
      for (const line of lines) if (SEVERE.test(line) && !HARMLESS.test(line)) this.severe.push(line)
    }
    proc.stdout?.on('data', take)
    proc.stderr?.on('data', take)
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null)
        resolve(code)
      })
    })
    this.dropCleanup = onCleanup(() => {
      if (this.running) proc.kill('SIGKILL')
      fs.rmSync(dir, { recursive: true, force: true })
    })
  }

  static async start(opts: BenchNodeOptions): Promise<BenchHaraka> {
    const template = templateNode()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-bench-node-'))
    const port = await freePort()
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true })
    fs.cpSync(path.join(template, 'config'), path.join(dir, 'config'), { recursive: true })
    if (opts.withPackage !== false) fs.symlinkSync(path.join(template, 'node_modules'), path.join(dir, 'node_modules'))
    fs.mkdirSync(path.join(dir, 'plugins'), { recursive: true })
    fs.copyFileSync(TEST_ACCEPT, path.join(dir, 'plugins', 'test_accept.js'))
    const files: Record<string, string> = {
      plugins: opts.plugins.join('\n') + '\n',
      me: 'mx.test.example\n',
      // public_ip keeps Haraka and its plugins from asking a STUN server.
      'smtp.ini': `listen=127.0.0.1:${port}\nnodes=0\npublic_ip=192.0.2.25\nforce_shutdown_timeout=3\ngraceful_shutdown=false\n`,
      'log.ini': `[main]\nlevel=${opts.logLevel ?? 'warn'}\ntimestamps=false\nformat=default\n`,
      // As the rig sets it: PROXY from loopback when asked, else none (the client connects directly).
      'connection.ini': editIni(fs.readFileSync(path.join(template, 'config', 'connection.ini'), 'utf8'), {
        haproxy: { 'hosts[]': opts.proxy ? ['127.0.0.1'] : [] },
        headers: { max_received: ['1000'] },
      }),
      ...opts.config,
    }
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'config', name)), { recursive: true })
      fs.writeFileSync(path.join(dir, 'config', name), content)
    }
    // Every thread writes a profile of its own (the data plugin's scan
    // thread too), named by Node; stop() sorts them out of this folder.
    const prof = opts.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${threadProfiles(opts.cpuProfile)}`] : []
    // taskset execs Haraka in its place: the child's pid is Haraka's.
    // --no-memory-reducer, for every scenario alike: V8 shrinks the heap of
    // a process that has gone idle, and each node here sits idle while the
    // others take their turns, which a server under steady load never does.
    // With it on, a node came back to its turn with a heap too small for the
    // load and ran a full GC every ~120 ms (70 in three runs instead of 2), and
    // which scenario that hit most varied from one run to the next.
    const argv = [...(opts.cpus ? ['taskset', '-c', opts.cpus] : []), process.execPath, '--no-memory-reducer', ...prof, '--require', PRELOAD, HARAKA_BIN, '-c', dir]
    const proc = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, SC_TEST_DNS: opts.dns, YES_REALLY_DO_DISCARD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const node = new BenchHaraka(dir, port, proc, opts.proxy === true, opts.cpuProfile)
    try {
      await node.waitReady(20000)
    } catch (err) {
      await node.stop()
      throw err
    }
    return node
  }

  /** The Haraka process (one process: nodes=0). */
  get pid(): number {
    if (this.proc.pid === undefined) throw new Error('Haraka has no pid')
    return this.proc.pid
  }

  get running(): boolean {
    return this.exitCode === undefined
  }

  /** Haraka's output so far (the first 256 KiB). */
  get log(): string {
    return this.output
  }

  /** Lines logged at WARN or worse (but the harmless TLS ones) since start or the last call. */
  takeSevere(): string[] {
    const out = this.severe
    this.severe = []
    return out
  }

  /** Waits until Haraka answers an SMTP connection with its 220 banner. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs
    for (;;) {
      if (!this.running) throw new Error(`Haraka exited (${this.exitCode}) while starting:\n${this.output.slice(-4000)}`)
      if (await banner(this.port, this.proxy)) return
      if (Date.now() > until) throw new Error(`Haraka did not answer on port ${this.port} within ${timeoutMs} ms:\n${this.output.slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async stop(): Promise<void> {
    if (this.running) {
      // SIGTERM ends Haraka at once; SIGINT is its own shutdown, which lets
      // Node write the CPU profile.
      this.proc.kill(this.cpuProfile ? 'SIGINT' : 'SIGTERM')
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), this.cpuProfile ? 15000 : 5000)
      await this.exited
      clearTimeout(timer)
    }
    if (this.cpuProfile) sortProfiles(this.cpuProfile)
    fs.rmSync(this.dir, { recursive: true, force: true })
    this.dropCleanup()
  }
}

function threadProfiles(cpuProfile: string): string {
  return `${cpuProfile}.threads`
}

// Node names each profile CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile,
// the main thread's with thread id 0: that one becomes cpuProfile, the
// others <name>.thread-<id>.cpuprofile beside it.
function sortProfiles(cpuProfile: string): void {
  const dir = threadProfiles(cpuProfile)
  if (!fs.existsSync(dir)) return
  for (const file of fs.readdirSync(dir)) {
    const tid = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1]
    if (tid === undefined) continue
    const to = tid === '0' ? cpuProfile : cpuProfile.replace(/\.cpuprofile$/, '') + `.thread-${tid}.cpuprofile`
    fs.renameSync(path.join(dir, file), to)
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

// Connects (with a PROXY line first, when Haraka waits for one), reads the
// greeting and says QUIT: true on a 220 greeting.
function banner(port: number, proxy: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    if (proxy) sock.on('connect', () => sock.write('PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n'))
    let buf = ''
    let greeted: boolean | undefined
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      sock.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 2000)
    sock.on('data', (d) => {
      if (greeted !== undefined) return
      buf += d.toString()
      if (/^\d{3} [^\n]*\n/m.test(buf)) {
        greeted = buf.startsWith('220')
        sock.end('QUIT\r\n')
      }
    })
    sock.on('close', () => done(greeted === true))
    sock.on('error', () => done(greeted === true))
  })
}
