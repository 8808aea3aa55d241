// The load generator: Postfix's smtp-source, taken from Debian's postfix
// package without installing it (apt-get download + dpkg -x into a cache
// folder, run with LD_LIBRARY_PATH on the package's own libraries), so no
// Postfix service is ever set up. If that cannot be made to work, a small
// Node client with the same behaviour (one message per session, N sessions
// at a time) is used instead, and the report says so.
import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { onCleanup } from './cleanup'

export const FROM = 'alice@sender.example'
export const TO = 'bob@example.com'
export const HELO = 'client.sender.example'

export interface LoadRun {
  port: number
  messages: number
  concurrency: number
  /** Message size in bytes. */
  size: number
  /** A prepared message (LF line ends) instead of smtp-source's own of `size` bytes: its file for -F and its text. */
  message?: { file: string; text: string }
}

export interface LoadResult {
  /** Every message was accepted (250 after the data). */
  ok: boolean
  /** Messages accepted. */
  accepted: number
  /** Wall clock of the whole run. */
  seconds: number
  /** What went wrong, when not ok. */
  detail: string
}

export interface LoadGenerator {
  /** For the report, e.g. "smtp-source (postfix 3.7.11-0+deb12u1)". */
  name: string
  run(r: LoadRun): Promise<LoadResult>
}

function say(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`)
}

const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'haraka-plugin-support-codes', 'postfix')

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

// apt-get download as root hands the file to the _apt user unless told not to.
const APT_AS_ROOT = ['-o', 'APT::Sandbox::User=root']

function findDeb(): string | undefined {
  if (!fs.existsSync(CACHE)) return undefined
  const debs = fs.readdirSync(CACHE).filter((f) => /^postfix_.*\.deb$/.test(f))
  return debs.length ? path.join(CACHE, debs.sort().pop() as string) : undefined
}

/** Makes smtp-source runnable from the cache folder; returns its path and environment. */
function prepareSmtpSource(): { bin: string; env: NodeJS.ProcessEnv; version: string } {
  const root = path.join(CACHE, 'root')
  const bin = path.join(root, 'usr', 'sbin', 'smtp-source')
  const libDir = path.join(root, 'usr', 'lib', 'postfix')
  let deb = findDeb()
  if (!deb) {
    fs.mkdirSync(CACHE, { recursive: true })
    say(`downloading Debian's postfix package into ${CACHE} (apt-get download postfix; nothing is installed)`)
    try {
      sh('apt-get', [...(isRoot() ? APT_AS_ROOT : []), 'download', 'postfix'], CACHE)
    } catch {
      if (!isRoot()) throw new Error('apt-get download postfix failed (run apt-get update as root first)')
      say('apt-get download failed: running apt-get update and trying again')
      sh('apt-get', ['update', '-qq'])
      sh('apt-get', [...APT_AS_ROOT, 'download', 'postfix'], CACHE)
    }
    deb = findDeb()
    if (!deb) throw new Error(`apt-get download postfix left no postfix_*.deb in ${CACHE}`)
  }
  if (!fs.existsSync(bin)) {
    say(`unpacking ${path.basename(deb)} into ${root} (dpkg -x)`)
    fs.rmSync(root, { recursive: true, force: true })
    sh('dpkg', ['-x', deb, root])
    if (!fs.existsSync(bin)) throw new Error(`${deb} has no usr/sbin/smtp-source`)
  }
  const env = { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') }
  const missing = (): string[] =>
    execFileSync('ldd', [bin], { env, encoding: 'utf8' })
      .split('\n')
      .filter((l) => /not found/.test(l))
      .map((l) => l.trim().split(/\s+/)[0])
  let libs = missing()
  if (libs.length) {
    if (!isRoot()) throw new Error(`smtp-source needs libraries this machine lacks: ${libs.join(', ')} (install postfix's library dependencies as root)`)
    // The libraries are among the postfix package's own dependencies.
    const deps = sh('apt-cache', ['depends', '--no-recommends', '--no-suggests', 'postfix'])
      .split('\n')
      .map((l) => /^\s*\|?Depends:\s*(\S+)/.exec(l)?.[1])
      .filter((p): p is string => !!p && p.startsWith('lib') && !p.includes('<'))
    say(`smtp-source lacks ${libs.join(', ')}: installing postfix's library dependencies (apt-get install ${deps.join(' ')})`)
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...deps], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    libs = missing()
    if (libs.length) throw new Error(`smtp-source still lacks ${libs.join(', ')}`)
  }
  let version = path.basename(deb).replace(/^postfix_/, '').replace(/_[^_]*\.deb$/, '')
  try {
    version = sh('dpkg-deb', ['-f', deb, 'Version']).trim() || version
  } catch {
    // keep the file name's version
  }
  return { bin, env, version }
}

/** smtp-source if it can be made to run here, else the Node client. */
export async function loadGenerator(): Promise<LoadGenerator> {
  if (process.env.BENCH_LOADGEN === 'node') {
    say('BENCH_LOADGEN=node: using the Node load generator')
    return nodeGenerator()
  }
  try {
    const sms = prepareSmtpSource()
    say(`using ${sms.bin} (postfix ${sms.version}) with LD_LIBRARY_PATH=${sms.env.LD_LIBRARY_PATH}`)
    const gen = smtpSource(sms.bin, sms.env, sms.version)
    return gen
  } catch (err) {
    say('!!!!!!!!')
    say(`!!! smtp-source cannot be used: ${err instanceof Error ? err.message : String(err)}`)
    say('!!! falling back to the Node load generator: numbers are not comparable with smtp-source runs')
    say('!!!!!!!!')
    return nodeGenerator()
  }
}

function smtpSource(bin: string, env: NodeJS.ProcessEnv, version: string): LoadGenerator {
  return {
    name: `smtp-source (postfix ${version})`,
    run(r: LoadRun): Promise<LoadResult> {
      // One message per session (no -d), -s sessions at a time, -c prints a
      // running count of the messages sent. smtp-source stops with a fatal
      // error (exit status 1) at the first reply it did not expect.
      const args = [
        '-c',
        '-s', String(r.concurrency),
        '-m', String(r.messages),
        ...(r.message ? ['-F', r.message.file] : ['-l', String(r.size)]),
        '-f', FROM,
        '-t', TO,
        '-M', HELO,
        `127.0.0.1:${r.port}`,
      ]
      return new Promise((resolve) => {
        const started = process.hrtime.bigint()
        const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
        const drop = onCleanup(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        })
        let out = ''
        let err = ''
        child.stdout.on('data', (d: Buffer) => {
          out = (out + d.toString()).slice(-4096)
        })
        child.stderr.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-16384)
        })
        const finish = (code: number | null, why: string): void => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9
          drop()
          // The counter is "\r<n>" repeated; the last one is the total.
          const counts = out.split(/[\r\n]+/).map((s) => s.trim()).filter((s) => /^\d+$/.test(s))
          const accepted = counts.length ? Number(counts[counts.length - 1]) : code === 0 ? r.messages : 0
          const ok = code === 0 && accepted === r.messages && !err.trim()
          const detail = ok ? '' : `smtp-source ${why}, counted ${accepted} of ${r.messages}${err.trim() ? `:\n${err.trim()}` : ''}`
          resolve({ ok, accepted, seconds, detail })
        }
        child.on('error', (e) => finish(null, `could not run (${e.message})`))
        child.on('close', (code, signal) => finish(code, signal ? `was killed by ${signal}` : `exited with status ${code}`))
      })
    },
  }
}

// --- the fallback: a small Node SMTP client ----------------------------------

// As smtp-source -F sends a file: CRLF line ends, dot-stuffed (RFC 5321 4.5.2).
function prepared(text: string): Buffer {
  const lines = text.replace(/\n$/, '').split('\n').map((l) => (l.startsWith('.') ? `.${l}` : l))
  return Buffer.from(lines.join('\r\n') + '\r\n.\r\n')
}

function message(size: number): Buffer {
  const head =
    `From: <${FROM}>\r\nTo: <${TO}>\r\nSubject: bench\r\n` +
    `Date: ${new Date().toUTCString()}\r\nMessage-Id: <bench.${Date.now()}@${HELO}>\r\n\r\n`
  const lines: string[] = []
  let len = Buffer.byteLength(head)
  while (len < size) {
    const n = Math.max(1, Math.min(78, size - len - 2))
    lines.push('X'.repeat(n))
    len += n + 2
  }
  return Buffer.from(head + lines.join('\r\n') + '\r\n.\r\n')
}

// One session: greeting, EHLO, MAIL, RCPT, DATA, the message, QUIT. Resolves
// with an error text at the first reply that is not the expected one.
function session(port: number, body: Buffer): Promise<string | undefined> {
  const steps: Array<{ send?: string | Buffer; expect: string }> = [
    { expect: '220' },
    { send: `EHLO ${HELO}\r\n`, expect: '250' },
    { send: `MAIL FROM:<${FROM}>\r\n`, expect: '250' },
    { send: `RCPT TO:<${TO}>\r\n`, expect: '250' },
    { send: 'DATA\r\n', expect: '354' },
    { send: body, expect: '250' },
    { send: 'QUIT\r\n', expect: '221' },
  ]
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    let buf = ''
    let step = 0
    let done = false
    const end = (err?: string): void => {
      if (done) return
      done = true
      sock.destroy()
      resolve(err)
    }
    sock.on('data', (d) => {
      buf += d.toString('latin1')
      for (;;) {
        // A reply ends with a line "NNN text" (no dash after the code).
        const m = /^(\d{3}) [^\n]*\n/m.exec(buf)
        if (!m) return
        const reply = buf.slice(0, m.index + m[0].length)
        buf = buf.slice(m.index + m[0].length)
        if (m[1] !== steps[step].expect) return end(`expected ${steps[step].expect}, got ${reply.trim()}`)
        step++
        if (step === steps.length) return end()
        sock.write(steps[step].send as string | Buffer)
      }
    })
    sock.on('error', (e) => end(`socket: ${e.message}`))
    sock.on('close', () => end(step < steps.length ? 'connection closed early' : undefined))
  })
}

function nodeGenerator(): LoadGenerator {
  return {
    name: `Node load generator (${process.version})`,
    async run(r: LoadRun): Promise<LoadResult> {
      const body = r.message ? prepared(r.message.text) : message(r.size)
      const started = process.hrtime.bigint()
      let next = 0
      let accepted = 0
      const errors: string[] = []
      const worker = async (): Promise<void> => {
        while (next < r.messages && !errors.length) {
          next++
          const err = await session(r.port, body)
          if (err) errors.push(err)
          else accepted++
        }
      }
      await Promise.all(Array.from({ length: Math.min(r.concurrency, r.messages) }, worker))
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const ok = accepted === r.messages
      return { ok, accepted, seconds, detail: ok ? '' : `accepted ${accepted} of ${r.messages}: ${errors.slice(0, 3).join('; ')}` }
    },
  }
}
