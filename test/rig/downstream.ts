// A downstream SMTP server for live recipient callouts: the test decides what
// each RCPT TO gets, including never answering or dropping the connection.
import * as net from 'node:net'
import { StringDecoder } from 'node:string_decoder'

// A full reply line such as "550 5.1.1 No such user"; 'hang' never answers,
// 'close' drops the connection without a reply.
export type Answer = string | 'hang' | 'close'

export interface DownstreamOptions {
  port?: number
  answers?: Record<string, Answer>
  default?: Answer
  greeting?: Answer
  mailFrom?: Answer
}

export interface Session {
  helo?: string
  mailFrom?: string
  rcpts: string[]
  commands: string[]
  // Each message received after DATA, dot-stuffing undone, CRLF line ends.
  messages: string[]
}

const HOST = '127.0.0.1'

// The bare address from "MAIL FROM:<a@b> SIZE=1" or "RCPT TO: a@b".
function address(arg: string): string {
  const m = /<([^>]*)>/.exec(arg)
  if (m) return m[1]
  return arg.trim().split(/\s+/)[0] ?? ''
}

export class Downstream {
  readonly host = HOST
  readonly port: number
  readonly sessions: Session[] = []
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private readonly answers = new Map<string, Answer>()
  private defaultAnswer: Answer
  private greetingAnswer: Answer
  private mailFromAnswer: Answer
  private accepted = 0
  private stopped: Promise<void> | null = null

  private constructor(server: net.Server, port: number, opts: DownstreamOptions) {
    this.server = server
    this.port = port
    for (const [rcpt, a] of Object.entries(opts.answers ?? {})) this.answer(rcpt, a)
    this.defaultAnswer = opts.default ?? '250 2.1.5 OK'
    this.greetingAnswer = opts.greeting ?? '220 downstream.test ESMTP'
    this.mailFromAnswer = opts.mailFrom ?? '250 2.1.0 OK'
    server.on('connection', (socket) => this.onConnection(socket))
  }

  static start(opts: DownstreamOptions = {}): Promise<Downstream> {
    return new Promise((resolve, reject) => {
      const server = net.createServer()
      server.once('error', reject)
      server.listen(opts.port ?? 0, HOST, () => {
        server.off('error', reject)
        const addr = server.address()
        const port = typeof addr === 'object' && addr ? addr.port : 0
        resolve(new Downstream(server, port, opts))
      })
    })
  }

  // rcpt is the bare address, matched case-insensitively.
  answer(rcpt: string, a: Answer): void {
    this.answers.set(rcpt.toLowerCase(), a)
  }

  setDefault(a: Answer): void {
    this.defaultAnswer = a
  }

  setGreeting(a: Answer): void {
    this.greetingAnswer = a
  }

  setMailFrom(a: Answer): void {
    this.mailFromAnswer = a
  }

  // Total connections accepted.
  get connections(): number {
    return this.accepted
  }

  // Connections open now.
  get open(): number {
    return this.sockets.size
  }

  stop(): Promise<void> {
    if (!this.stopped) {
      const closing = [new Promise<void>((resolve) => this.server.close(() => resolve()))]
      for (const s of this.sockets) {
        // Resolve only once every socket has closed, so open reads 0 after.
        closing.push(new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve()))))
        s.destroy()
      }
      this.stopped = Promise.all(closing).then(() => undefined)
    }
    return this.stopped
  }

  private onConnection(socket: net.Socket): void {
    this.accepted++
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    // Clients that vanish mid-session are part of what we test.
    socket.on('error', () => {})
    const session: Session = { rcpts: [], commands: [], messages: [] }
    this.sessions.push(session)

    const decoder = new StringDecoder('utf8')
    let buffer = ''
    let inData = false
    let dataLines: string[] = []
    // Once a reply is withheld, later replies would be out of order, so the
    // server goes silent for the rest of the connection.
    let silent = false

    const reply = (a: Answer): void => {
      if (silent || socket.destroyed) return
      if (a === 'hang') {
        silent = true
      } else if (a === 'close') {
        socket.destroy()
      } else {
        socket.write(a.replace(/\r?\n/g, '\r\n') + '\r\n')
      }
    }

    const command = (line: string): void => {
      session.commands.push(line)
      const m = /^(\S+)\s*(.*)$/.exec(line)
      const verb = (m?.[1] ?? '').toUpperCase()
      const arg = m?.[2] ?? ''
      switch (verb) {
        case 'EHLO':
          session.helo = arg
          reply(`250-downstream.test Hello ${arg}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES`)
          break
        case 'HELO':
          session.helo = arg
          reply('250 downstream.test')
          break
        case 'MAIL':
          session.mailFrom = address(arg.replace(/^FROM:/i, ''))
          reply(this.mailFromAnswer)
          break
        case 'RCPT': {
          const rcpt = address(arg.replace(/^TO:/i, ''))
          session.rcpts.push(rcpt)
          reply(this.answers.get(rcpt.toLowerCase()) ?? this.defaultAnswer)
          break
        }
        case 'DATA':
          inData = true
          dataLines = []
          reply('354 End data with <CR><LF>.<CR><LF>')
          break
        case 'RSET':
          reply('250 2.0.0 OK')
          break
        case 'NOOP':
          reply('250 2.0.0 OK')
          break
        case 'QUIT':
          reply('221 2.0.0 Bye')
          socket.end()
          break
        default:
          reply('500 5.5.1 Command unrecognized')
      }
    }

    socket.on('data', (chunk: Buffer) => {
      buffer += decoder.write(chunk)
      let nl: number
      // Pipelined commands arrive together; a partial line waits for more.
      while (!socket.destroyed && (nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '')
        buffer = buffer.slice(nl + 1)
        if (inData) {
          if (line === '.') {
            inData = false
            session.messages.push(dataLines.map((l) => l + '\r\n').join(''))
            reply('250 2.0.0 Queued')
          } else {
            dataLines.push(line.startsWith('.') ? line.slice(1) : line)
          }
        } else {
          command(line)
        }
      }
    })

    reply(this.greetingAnswer)
  }
}
