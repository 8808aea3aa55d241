// clamd's INSTREAM command over its unix or TCP socket (clamd(8)): the
// message goes in chunks, each a 4-byte big-endian length and the bytes, then
// a zero length; clamd answers "stream: OK", "stream: <name> FOUND" or an
// error. Every failure (no socket, timeout, an error reply) is an 'error'
// result, never a throw, so [virus] on_error decides.
import * as net from 'node:net'

export type ClamdResult =
  | { status: 'clean' }
  | { status: 'virus'; name: string }
  | { status: 'error'; why: string }

export interface ClamdOptions {
  timeoutMs: number
  /** Bytes sent at most: clamd drops streams over its StreamMaxLength (25 MB by default). */
  maxBytes: number
  chunkBytes?: number
}

/** "path/to/clamd.ctl" or "host:port" / "[v6]:port", as [virus] clamd has it. */
export function clamdAddress(target: string): net.NetConnectOpts {
  const t = target.trim()
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:/]+):(\d+)$/.exec(t)
  if (m) return { host: m[1], port: Number(m[2]) }
  return { path: t }
}

export function clamdScan(target: string, data: Buffer, opts: ClamdOptions): Promise<ClamdResult> {
  return new Promise((resolve) => {
    const chunk = opts.chunkBytes ?? 64 * 1024
    const body = data.length > opts.maxBytes ? data.subarray(0, opts.maxBytes) : data
    let reply = ''
    let done = false
    const sock = net.connect(clamdAddress(target))
    const finish = (r: ClamdResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish({ status: 'error', why: `no answer within ${opts.timeoutMs} ms` }), opts.timeoutMs)
    sock.on('error', (err) => finish({ status: 'error', why: err.message }))
    sock.on('data', (d: Buffer) => {
      reply += d.toString('latin1')
      // zINSTREAM replies end with a NUL.
      if (reply.includes('\0')) finish(parseReply(reply.slice(0, reply.indexOf('\0'))))
    })
    sock.on('end', () => finish(reply ? parseReply(reply.replace(/\0.*$/s, '')) : { status: 'error', why: 'clamd closed the connection without an answer' }))
    sock.on('connect', () => {
      sock.write('zINSTREAM\0')
      for (let i = 0; i < body.length; i += chunk) {
        const part = body.subarray(i, i + chunk)
        const len = Buffer.alloc(4)
        len.writeUInt32BE(part.length)
        sock.write(len)
        sock.write(part)
      }
      sock.write(Buffer.alloc(4))
    })
  })
}

export function parseReply(text: string): ClamdResult {
  const line = text.trim()
  const found = /^stream: (.+) FOUND$/.exec(line)
  if (found) return { status: 'virus', name: found[1] }
  if (/^stream: OK$/.test(line)) return { status: 'clean' }
  return { status: 'error', why: line || 'empty reply' }
}

/** zPING → PONG; resolves to why clamd did not answer, or undefined when it did. */
export function clamdPing(target: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let reply = ''
    let done = false
    const sock = net.connect(clamdAddress(target))
    const finish = (why: string | undefined): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(why)
    }
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs)
    sock.on('error', (err) => finish(err.message))
    sock.on('connect', () => sock.write('zPING\0'))
    sock.on('data', (d: Buffer) => {
      reply += d.toString('latin1')
      if (reply.includes('\0')) finish(reply.startsWith('PONG') ? undefined : `answered ${JSON.stringify(reply.replace(/\0.*$/s, ''))}`)
    })
    sock.on('end', () => finish(reply.startsWith('PONG') ? undefined : 'closed the connection'))
  })
}
