// A raw SMTP client for the end-to-end tests. It keeps every byte the server
// sent so a test can assert exact reply lines, including multi-line replies.
import * as net from 'node:net'
import * as crypto from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import { Recorder } from './replay'

export interface Reply {
  code: number
  // Each full reply line without its CRLF, e.g. "250-host Hello", "250 OK".
  lines: string[]
  // The lines joined with "\n".
  text: string
}

export interface ConnectOptions {
  host?: string
  port: number
  // Client address to present in a HAProxy PROXY v1 header sent before
  // anything else, so the server sees mail from an address we cannot bind.
  proxyFrom?: string
  // Destination address in that header; "127.0.0.1", or "::1" for IPv6.
  proxyTo?: string
  timeoutMs?: number
  localAddress?: string
}

interface Waiter {
  resolve: (r: Reply) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

const DEFAULT_TIMEOUT_MS = 15000

// The fixed ports in the PROXY header; the server only needs the addresses.
const PROXY_SRC_PORT = 40000
const PROXY_DST_PORT = 25

export function proxyHeader(from: string, to?: string): string {
  const v6 = net.isIPv6(from)
  const family = v6 ? 'TCP6' : 'TCP4'
  const dst = to ?? (v6 ? '::1' : '127.0.0.1')
  return `PROXY ${family} ${from} ${dst} ${PROXY_SRC_PORT} ${PROXY_DST_PORT}\r\n`
}

function describe(cmd: string): string {
  return cmd.startsWith('(') ? cmd : JSON.stringify(cmd)
}

export class SmtpClient {
  private readonly socket: net.Socket
  private readonly timeoutMs: number
  private readonly decoder = new StringDecoder('utf8')
  private received = ''
  private partial = ''
  private replyLines: string[] = []
  private readonly queue: Reply[] = []
  private waiter: Waiter | null = null
  private lastCommand = '(greeting)'
  private ended = false
  private closedLocally = false
  private socketError: Error | null = null
  private greetingReply: Reply | null = null
  /** Replays this client's replies through explain when the server is a rig Haraka (see replay.ts). */
  private recorder: Recorder | undefined
  readonly closed: Promise<void>

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket
    this.timeoutMs = timeoutMs
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.on('data', (chunk: Buffer) => this.onData(this.decoder.write(chunk)))
    socket.on('error', (err) => {
      this.socketError = err
    })
    socket.on('end', () => this.onEnd())
    socket.on('close', () => this.onEnd())
  }

  static connect(opts: ConnectOptions): Promise<SmtpClient> {
    const host = opts.host ?? '127.0.0.1'
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: opts.port, localAddress: opts.localAddress })
      const client = new SmtpClient(socket, timeoutMs)
      const fail = (err: Error) => {
        socket.destroy()
        reject(err)
      }
      socket.once('error', fail)
      socket.once('connect', () => {
        socket.off('error', fail)
        // The header must precede the greeting read: a PROXY-aware server
        // stays silent until it has the header.
        if (opts.proxyFrom) socket.write(proxyHeader(opts.proxyFrom, opts.proxyTo))
        const ip = opts.proxyFrom ?? (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '')
        client.recorder = Recorder.for(opts.port, ip)
        client.readReply().then(
          async (greeting) => {
            client.greetingReply = greeting
            await client.recorder?.greeting(greeting.text)
            resolve(client)
          },
          (err: Error) => fail(err),
        )
      })
    })
  }

  get greeting(): Reply {
    if (!this.greetingReply) throw new Error('no greeting received')
    return this.greetingReply
  }

  // Everything received so far, verbatim.
  get raw(): string {
    return this.received
  }

  async send(line: string): Promise<Reply> {
    this.lastCommand = line
    if (!this.writable()) throw this.closedError()
    const after = await this.recorder?.command(line)
    this.socket.write(line + '\r\n')
    const reply = await this.readReply()
    after?.(reply.text)
    return reply
  }

  ehlo(name = 'client.test'): Promise<Reply> {
    return this.send(`EHLO ${name}`)
  }

  async data(message: string | Buffer): Promise<Reply> {
    const reply = await this.send('DATA')
    if (reply.code !== 354) return reply
    this.lastCommand = '(message body after DATA)'
    if (!this.writable()) throw this.closedError()
    const after = await this.recorder?.data(message)
    this.socket.write(encodeBody(message))
    const end = await this.readReply()
    after?.(end.text)
    return end
  }

  sendRaw(bytes: string | Buffer): void {
    const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1')
    this.lastCommand = `(raw ${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '...' : text)})`
    this.socket.write(bytes)
  }

  readReply(): Promise<Reply> {
    const next = this.queue.shift()
    if (next) return Promise.resolve(next)
    if (this.ended) return Promise.reject(this.closedError())
    if (this.waiter) return Promise.reject(new Error('readReply: another reply is already awaited'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null
        reject(new Error(`timed out after ${this.timeoutMs} ms waiting for the reply to ${describe(this.lastCommand)} from ${this.peer()}`))
      }, this.timeoutMs)
      this.waiter = { resolve, reject, timer }
    })
  }

  // QUIT and the reply, or null when the connection is already gone.
  async quit(): Promise<Reply | null> {
    if (!this.writable()) return null
    const reply = await this.send('QUIT').catch(() => null)
    this.socket.end()
    return reply
  }

  close(): void {
    this.closedLocally = true
    this.socket.destroy()
  }

  // An abrupt close with a TCP RST, as a client that crashes would do.
  reset(): void {
    this.closedLocally = true
    this.socket.resetAndDestroy()
  }

  private writable(): boolean {
    return !this.ended && !this.socket.destroyed && this.socket.writable
  }

  private peer(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`
  }

  private closedError(): Error {
    const who = this.closedLocally ? 'closed locally' : 'closed by the server'
    const why = this.socketError ? ` (${this.socketError.message})` : ''
    const tail = this.partial || this.replyLines.length ? `; incomplete reply: ${JSON.stringify(this.replyLines.concat(this.partial).join('\n'))}` : ''
    return new Error(`connection ${who}${why} while waiting for the reply to ${describe(this.lastCommand)}${tail}`)
  }

  private onData(text: string): void {
    this.received += text
    this.partial += text
    let nl: number
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl).replace(/\r$/, '')
      this.partial = this.partial.slice(nl + 1)
      this.replyLines.push(line)
      // "NNN-" continues a reply; anything else ends it.
      if (/^\d{3}-/.test(line)) continue
      const lines = this.replyLines
      this.replyLines = []
      const code = Number.parseInt(lines[0].slice(0, 3), 10)
      this.deliver({ code: Number.isNaN(code) ? 0 : code, lines, text: lines.join('\n') })
    }
  }

  private deliver(reply: Reply): void {
    const w = this.waiter
    if (w) {
      this.waiter = null
      clearTimeout(w.timer)
      w.resolve(reply)
    } else {
      this.queue.push(reply)
    }
  }

  private onEnd(): void {
    if (this.ended) return
    this.ended = true
    const w = this.waiter
    if (w) {
      this.waiter = null
      clearTimeout(w.timer)
      w.reject(this.closedError())
    }
  }
}

// CRLF line ends, dot-stuffing and the terminating "." line.
export function encodeBody(message: string | Buffer): Buffer {
  // latin1 maps bytes 1:1 to characters, so binary bodies pass unchanged.
  const text = (typeof message === 'string' ? Buffer.from(message, 'utf8') : message).toString('latin1')
  let body = text.replace(/\r\n|\r|\n/g, '\r\n').replace(/^\./gm, '..')
  if (body.length > 0 && !body.endsWith('\r\n')) body += '\r\n'
  return Buffer.from(body + '.\r\n', 'latin1')
}

export interface SendMailOptions {
  port: number
  host?: string
  proxyFrom?: string
  helo?: string
  from: string
  to: string[]
  message: string | Buffer
  timeoutMs?: number
}

export interface SendMailResult {
  greeting: Reply
  ehlo: Reply
  mail: Reply
  rcpts: Reply[]
  data?: Reply
}

function ok(r: Reply): boolean {
  return r.code >= 200 && r.code < 300
}

// A whole session. DATA goes only when a recipient was accepted; a refused
// MAIL ends the session there.
export async function sendMail(opts: SendMailOptions): Promise<SendMailResult> {
  const client = await SmtpClient.connect({ host: opts.host, port: opts.port, proxyFrom: opts.proxyFrom, timeoutMs: opts.timeoutMs })
  try {
    const ehlo = await client.ehlo(opts.helo ?? 'client.test')
    const mail = await client.send(`MAIL FROM:<${opts.from}>`)
    const result: SendMailResult = { greeting: client.greeting, ehlo, mail, rcpts: [] }
    if (!ok(mail)) {
      await client.quit()
      return result
    }
    for (const rcpt of opts.to) result.rcpts.push(await client.send(`RCPT TO:<${rcpt}>`))
    if (result.rcpts.some(ok)) result.data = await client.data(opts.message)
    await client.quit()
    return result
  } finally {
    client.close()
  }
}

export interface MessageOptions {
  from?: string
  to?: string
  subject?: string
  body?: string
  // Extra headers; one named like a standard header replaces it.
  headers?: Record<string, string> | Array<[string, string]>
}

// A small valid RFC 5322 message with CRLF line ends.
export function message(opts: MessageOptions = {}): string {
  const from = opts.from ?? 'sender@sender.test'
  const domain = from.includes('@') ? from.slice(from.lastIndexOf('@') + 1) : 'sender.test'
  const extra: Array<[string, string]> = Array.isArray(opts.headers) ? opts.headers : Object.entries(opts.headers ?? {})
  const overridden = new Set(extra.map(([k]) => k.toLowerCase()))
  const standard: Array<[string, string]> = [
    ['From', `<${from}>`],
    ['To', `<${opts.to ?? 'rcpt@example.test'}>`],
    ['Subject', opts.subject ?? 'Test message'],
    ['Date', new Date().toUTCString().replace(/GMT$/, '+0000')],
    ['Message-ID', `<${crypto.randomBytes(8).toString('hex')}.${Date.now()}@${domain}>`],
  ]
  const headers = standard.filter(([k]) => !overridden.has(k.toLowerCase())).concat(extra)
  const body = (opts.body ?? 'Hello.\n').replace(/\r\n|\r|\n/g, '\r\n')
  return headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + body
}
