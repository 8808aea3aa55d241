// The realistic case's load generator: a small Node SMTP client that opens
// each session with a HAProxy PROXY v1 line (smtp-source cannot), so that
// Haraka sees the mix's public client IPs (mix.ts), and sends as the mix's
// sender domains. It runs as a child process of its own, one per run, so
// that its CPU is measured apart from the benchmark's (the DNS server lives
// in the benchmark's process) and reported per message beside Haraka's.
//
// Each session: PROXY, greeting, EHLO, MAIL FROM, RCPT TO, DATA, the
// message, QUIT. Each reply must be the one expected for the client: with
// `designed`, the bundle's answer for it (mix.ts: a listed client refused at
// RCPT TO with G31/G32, a client without PTR deferred at MAIL FROM with
// G1F); without, 250 for everything (bare Haraka). Any other reply, a
// timeout or a closed connection stops the run with an error.
import { spawn } from 'node:child_process'
import * as net from 'node:net'
import { onCleanup } from './cleanup'
import { draws, mixClients, MixClient, Outcome, RECIPIENT, senderDomain } from './mix'

export interface ProxyRun {
  port: number
  messages: number
  concurrency: number
  /** Same seed, same sessions: both nodes of a round get the same mail. */
  seed: number
  /** [zone, listed answer] of the node's DNS lists. */
  lists: Array<[string, string]>
  /** Expect the bundle's designed answers (else every session accepted). */
  designed: boolean
  /** Plain text of this size; or, for a prepared message, its text (LF line ends), whose From line is replaced per session. */
  size: number
  text?: string
}

export interface ProxyResult {
  ok: boolean
  detail: string
  /** Wall clock of the sessions, from the first connect to the last close. */
  seconds: number
  outcomes: Record<Outcome, number>
  /** The client's own user+system CPU during the sessions, in ms. */
  cpuMs: number
}

const SESSION_TIMEOUT_MS = 60000

/** Runs one load in a child process and returns what it reports. */
export function runProxyLoad(r: ProxyRun): Promise<ProxyResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename], { stdio: ['pipe', 'pipe', 'pipe'] })
    const drop = onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)))
    child.stdin.end(JSON.stringify(r))
    const none: Record<Outcome, number> = { accepted: 0, refused: 0, deferred: 0 }
    child.on('close', (code, signal) => {
      drop()
      try {
        resolve(JSON.parse(out) as ProxyResult)
      } catch {
        resolve({ ok: false, detail: `the PROXY client exited (${signal ?? code}) without a result${err ? `:\n${err.trim()}` : ''}`, seconds: 0, outcomes: none, cpuMs: 0 })
      }
    })
  })
}

// --- the child -------------------------------------------------------------

// As smtp-source -F sends a file: CRLF line ends, dot-stuffed (RFC 5321 4.5.2).
function crlf(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + '\r\n.\r\n')
}

/** The message without its From line (sent first, per session), dot-terminated. */
function messageRest(r: ProxyRun): Buffer {
  if (r.text !== undefined) {
    const lines = r.text.replace(/\n$/, '').split('\n')
    const bodyAt = lines.indexOf('')
    return crlf(lines.filter((l, i) => !(i < bodyAt && /^From:/i.test(l))))
  }
  const head = [`To: <${RECIPIENT}>`, 'Subject: bench', 'Date: Tue, 01 Oct 2024 09:30:00 +0000', 'Message-Id: <bench.plain@client.example>', '']
  const lines = [...head]
  let len = head.reduce((n, l) => n + l.length + 2, 40)
  while (len < r.size) {
    const n = Math.max(1, Math.min(78, r.size - len - 2))
    lines.push('X'.repeat(n))
    len += n + 2
  }
  return crlf(lines)
}

interface Step {
  /** Written in order; the message goes as its From line and the shared rest, not copied per session. */
  send: Array<string | Buffer>
  /** The reply's code when things go on. */
  ok: string
}

// One session; resolves with its outcome, or rejects with what went wrong.
function session(port: number, client: MixClient, sender: string, expect: Outcome, body: Buffer): Promise<Outcome> {
  const helo = client.ptr ?? `[${client.ip}]`
  const steps: Step[] = [
    { send: [`PROXY TCP4 ${client.ip} 127.0.0.1 40000 25\r\n`], ok: '220' },
    { send: [`EHLO ${helo}\r\n`], ok: '250' },
    { send: [`MAIL FROM:<${sender}>\r\n`], ok: '250' },
    { send: [`RCPT TO:<${RECIPIENT}>\r\n`], ok: '250' },
    { send: ['DATA\r\n'], ok: '354' },
    { send: [`From: <${sender}>\r\n`, body], ok: '250' },
    { send: ['QUIT\r\n'], ok: '221' },
  ]
  // Where the bundle answers otherwise, and with what.
  const refusal =
    expect === 'deferred' ? { step: 2, code: /^450 .*\(G1F\)/ } : expect === 'refused' ? { step: 3, code: /^554 .*\((G31|G32)\)/ } : undefined
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    let buf = ''
    let step = 0
    let done = false
    let quitting = false
    const timer = setTimeout(() => end(new Error(`no reply within ${SESSION_TIMEOUT_MS} ms at step ${step}`)), SESSION_TIMEOUT_MS)
    const end = (err?: Error): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(new Error(`${client.ip} as ${sender}: ${err.message}`))
      else resolve(expect)
    }
    const write = (parts: Array<string | Buffer>): void => {
      sock.cork()
      for (const p of parts) sock.write(p)
      sock.uncork()
    }
    sock.setNoDelay(true)
    sock.on('connect', () => write(steps[0].send))
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      for (;;) {
        // A reply ends with a line "NNN text" (no dash after the code).
        const m = /^(\d{3})( [^\n]*)?\r?\n/m.exec(buf)
        if (!m) return
        const last = m[0].replace(/\r?\n$/, '')
        buf = buf.slice(m.index + m[0].length)
        if (quitting) return end()
        if (refusal && step === refusal.step) {
          if (!refusal.code.test(last)) return end(new Error(`expected ${refusal.code}, got ${last}`))
          quitting = true
          sock.write('QUIT\r\n')
          continue
        }
        if (m[1] !== steps[step].ok) return end(new Error(`expected ${steps[step].ok} at step ${step}, got ${last}`))
        step++
        if (step === steps.length) return end()
        write(steps[step].send)
      }
    })
    sock.on('error', (e) => end(quitting ? undefined : e))
    // After a refusal the server may hang up instead of answering QUIT.
    sock.on('close', () => end(quitting || step === steps.length ? undefined : new Error(`connection closed at step ${step}`)))
  })
}

async function child(r: ProxyRun): Promise<ProxyResult> {
  const clients = mixClients(r.lists)
  const next = draws(r.seed)
  const body = messageRest(r)
  const outcomes: Record<Outcome, number> = { accepted: 0, refused: 0, deferred: 0 }
  const errors: string[] = []
  let started = 0
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const worker = async (): Promise<void> => {
    while (started < r.messages && !errors.length) {
      started++
      const d = next()
      const c = clients[d.client]
      try {
        outcomes[await session(r.port, c, `alice@${senderDomain(d.domain)}`, r.designed ? c.outcome : 'accepted', body)]++
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(r.concurrency, r.messages) }, worker))
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const used = process.cpuUsage(cpu0)
  const ok = !errors.length && outcomes.accepted + outcomes.refused + outcomes.deferred === r.messages
  return { ok, detail: ok ? '' : `PROXY client: ${errors.slice(0, 3).join('; ')}`, seconds, outcomes, cpuMs: (used.user + used.system) / 1000 }
}

if (require.main === module) {
  let input = ''
  process.stdin.on('data', (d: Buffer) => (input += d.toString()))
  process.stdin.on('end', () => {
    child(JSON.parse(input) as ProxyRun).then(
      (res) => process.stdout.write(JSON.stringify(res)),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
        process.exitCode = 1
      },
    )
  })
}
