// A real Haraka node for end-to-end tests: the package is packed with npm
// and installed into a node made by `haraka -i`, exactly as an operator
// would; each test gets its own config folder and port.
import { ChildProcess, execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'
import { beforeConfigChange, registerNode, unregisterNode } from './replay'
import { waitFor } from './wait'

export const ROOT = path.resolve(__dirname, '..', '..', '..')
const HARAKA_BIN = path.join(ROOT, 'node_modules', 'Haraka', 'bin', 'haraka')
const PRELOAD = path.join(__dirname, 'dns-preload.js')
const NODE_PLUGINS = path.join(__dirname, 'node-plugins') // compiled test_accept.js, test_queue.js

export const PLUGINS = ['support-codes/connect', 'support-codes/mailfrom', 'support-codes/rcpt', 'support-codes/data']

function log(msg: string): void {
  process.stderr.write(`rig: ${msg}\n`)
}

/**
 * Packs the package and installs the tarball into a fresh Haraka node (once
 * per test run; the run script passes the folder on in SC_TEMPLATE_NODE).
 */
export function prepareTemplateNode(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-template-'))): string {
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-pack-'))
  log('packing the package with npm pack')
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8' })
  const tarball = path.join(packDir, out.trim().split('\n').pop() as string)
  log(`making a Haraka node in ${dir} (haraka -i)`)
  execFileSync(process.execPath, [HARAKA_BIN, '-i', dir], { stdio: 'ignore' })
  log(`installing ${path.basename(tarball)} into it with npm install`)
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: dir, stdio: 'inherit' })
  fs.renameSync(tarball, path.join(dir, TARBALL))
  fs.rmSync(packDir, { recursive: true, force: true })
  return dir
}

/** The packed tarball, kept in the template node for install tests. */
export const TARBALL = 'haraka-plugin-support-codes.tgz'

export function templateNode(): string {
  const dir = process.env.SC_TEMPLATE_NODE
  if (dir && fs.existsSync(path.join(dir, 'node_modules', 'haraka-plugin-support-codes'))) return dir
  throw new Error('SC_TEMPLATE_NODE is not set: run the tests with `npm test`')
}

export interface HarakaOptions {
  /** config/plugins lines; default: the four support-codes plugins, then the test queue. */
  plugins?: string[]
  /** Files written into the node's config/ folder, name → content. */
  config?: Record<string, string>
  /** host:port of the test DNS server every resolver in the process uses. */
  dns?: string
  /** smtp.ini nodes= (0: one process). */
  nodes?: number
  port?: number
  /** Keep the node folder after stop (the demo). */
  dir?: string
  logLevel?: string
  /** Another Haraka's bin/haraka (a global install); default: the pinned devDependency. */
  bin?: string
  /** More smtp.ini [main] lines (inactivity_timeout=2, ...). */
  smtp?: string[]
  /** Accept PROXY headers from loopback test clients (default true). */
  proxy?: boolean
  /** Link the template node's node_modules into the node (default true). */
  linkModules?: boolean
  /** Replay every reply a test client gets through support-codes explain (default true; see replay.ts). */
  replay?: boolean
}

/** Plugins the tests put after the bundle: hang up on HELO hangup.test, accept every recipient, queue to files. */
export const TEST_TAIL = ['test_hangup', 'test_accept', 'test_queue']

/**
 * Sets keys in an ini text, keeping everything else: each key's existing
 * lines in its section are dropped and the new ones put at the section's top.
 */
export function editIni(text: string, changes: Record<string, Record<string, string[]>>): string {
  const lines = text.split('\n')
  for (const [section, keys] of Object.entries(changes)) {
    let start = lines.findIndex((l) => l.trim() === `[${section}]`)
    if (start < 0) {
      lines.push('', `[${section}]`)
      start = lines.length - 1
    }
    let end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l))
    if (end < 0) end = lines.length
    const kept = lines.slice(start + 1, end).filter((l) => {
      const m = /^\s*([^;#=\s]+)\s*=/.exec(l)
      return !(m && m[1] in keys)
    })
    const added = Object.entries(keys).flatMap(([k, values]) => values.map((v) => `${k}=${v}`))
    lines.splice(start + 1, end - start - 1, ...added, ...kept)
  }
  return lines.join('\n')
}

export class Haraka {
  private output = ''
  private listeners: Array<(text: string) => void> = []
  private exited: Promise<number | null>
  private exitCode: number | null | undefined = undefined

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly keepDir: boolean,
  ) {
    const take = (d: Buffer): void => {
      const text = d.toString()
      this.output += text
      for (const fn of this.listeners) fn(text)
    }
    proc.stdout?.on('data', take)
    proc.stderr?.on('data', take)
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        this.exitCode = code
        resolve(code)
      })
    })
  }

  static async start(opts: HarakaOptions = {}): Promise<Haraka> {
    const template = templateNode()
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sc-node-'))
    const port = opts.port ?? (await freePort())
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true })
    fs.cpSync(path.join(template, 'config'), path.join(dir, 'config'), { recursive: true })
    if (opts.linkModules !== false && !fs.existsSync(path.join(dir, 'node_modules'))) {
      fs.symlinkSync(path.join(template, 'node_modules'), path.join(dir, 'node_modules'))
    }
    fs.cpSync(NODE_PLUGINS, path.join(dir, 'plugins'), { recursive: true })
    fs.mkdirSync(path.join(dir, 'queue'), { recursive: true })
    const files: Record<string, string> = {
      plugins: [...(opts.plugins ?? PLUGINS), ...TEST_TAIL].join('\n') + '\n',
      me: 'mx.test.example\n',
      // public_ip keeps Haraka and its plugins from asking a STUN server.
      'smtp.ini': [`listen=127.0.0.1:${port}`, `nodes=${opts.nodes ?? 0}`, 'public_ip=192.0.2.25', 'force_shutdown_timeout=3',
        'graceful_shutdown=false', ...(opts.smtp ?? [])].join('\n') + '\n',
      'log.ini': `[main]\nlevel=${opts.logLevel ?? 'info'}\ntimestamps=false\nformat=default\n`,
      // Test clients present addresses from 198.18.0.0/15 with a PROXY header;
      // the bundle's own loop check answers before Haraka's max_received.
      // Haraka reads connection.ini whole (no merge with its defaults), so
      // the node's own file is edited rather than replaced.
      'connection.ini': editIni(fs.readFileSync(path.join(template, 'config', 'connection.ini'), 'utf8'), {
        haproxy: { 'hosts[]': opts.proxy === false ? [] : ['127.0.0.1', '::1'] },
        headers: { max_received: ['1000'] },
      }),
      ...opts.config,
    }
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'config', name)), { recursive: true })
      fs.writeFileSync(path.join(dir, 'config', name), content)
    }
    const args = opts.dns ? ['--require', PRELOAD] : []
    const proc = spawn(process.execPath, [...args, opts.bin ?? HARAKA_BIN, '-c', dir], {
      env: { ...process.env, SC_TEST_DNS: opts.dns ?? '', SC_TEST_QUEUE: path.join(dir, 'queue') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const haraka = new Haraka(dir, port, proc, opts.dir !== undefined)
    await haraka.waitForLog(new RegExp(`Listening on .*:${port}|Listening on ${port}`), 20000)
    if (opts.replay !== false) registerNode(port, path.join(dir, 'config'), () => haraka.output, opts.dns)
    return haraka
  }

  /** Everything Haraka has logged so far. */
  get log(): string {
    return this.output
  }

  /** Calls fn with Haraka's output from now on. */
  onOutput(fn: (text: string) => void): void {
    this.listeners.push(fn)
  }

  /** Resolves with the exit code when the Haraka process ends. */
  whenExited(): Promise<number | null> {
    return this.exited
  }

  /** True while the Haraka process runs. */
  get running(): boolean {
    return this.exitCode === undefined
  }

  async waitForLog(re: RegExp, timeoutMs = 5000): Promise<string> {
    let found = ''
    try {
      await waitFor(`Haraka to log ${re}`, () => {
        const m = re.exec(this.output)
        if (m) found = m[0]
        else if (!this.running) throw new Error(`Haraka exited (${this.exitCode}) before logging ${re}`)
        return m !== null
      }, timeoutMs)
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${this.output.slice(-4000)}`, { cause: err })
    }
    return found
  }

  /** Writes a file in the node's config/ folder while Haraka runs. */
  writeConfig(name: string, content: string): void {
    beforeConfigChange(this.port)
    fs.writeFileSync(path.join(this.dir, 'config', name), content)
  }

  /** Messages the test queue accepted, oldest first. */
  queued(): string[] {
    const q = path.join(this.dir, 'queue')
    return fs.readdirSync(q).sort().map((f) => fs.readFileSync(path.join(q, f), 'utf8'))
  }

  /** Ends Haraka at once (SIGKILL), as a crash or a power cut would. */
  async kill(): Promise<void> {
    if (this.running) {
      this.proc.kill('SIGKILL')
      await this.exited
    }
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.proc.kill('SIGTERM')
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
      await this.exited
      clearTimeout(timer)
    }
    const mismatches = unregisterNode(this.port)
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true })
    if (mismatches.length) throw new Error(`support-codes explain did not reproduce ${mismatches.length} reply(ies) of this node:\n${mismatches.join('\n')}`)
  }
}
