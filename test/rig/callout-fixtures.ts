// What the callout tests share: a Callout with test settings, the rig's
// downstream SMTP server, and a server that plays a script.
import { TestContext } from 'node:test'
import * as net from 'node:net'
import { Callout, CalloutOptions } from '../../plugins/lib/callout/callout'
import { Downstream, DownstreamOptions } from './downstream'

export const HELO = 'callout.test'

export function callout(opts: Partial<CalloutOptions> = {}): Callout {
  return new Callout({ helo: HELO, timeoutMs: 2000, maxPerServer: 5, ...opts })
}

export async function downstream(t: TestContext, opts: DownstreamOptions = {}): Promise<Downstream> {
  const ds = await Downstream.start(opts)
  t.after(() => ds.stop())
  return ds
}

/** A server that plays a script: each client line gets the next reply, written in pieces. */
export async function scripted(t: TestContext, greeting: string[], replies: string[][]): Promise<{ port: number; received: string[] }> {
  const received: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.setNoDelay(true)
    sock.on('error', () => {})
    sock.on('close', () => sockets.delete(sock))
    let next = 0
    let buf = ''
    // Pieces go out 5 ms apart so that each arrives as a packet of its own.
    const write = async (pieces: string[]): Promise<void> => {
      for (const p of pieces) {
        if (sock.destroyed) return
        sock.write(p)
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1')
      let nl: number
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        received.push(buf.slice(0, nl))
        buf = buf.slice(nl + 2)
        const pieces = replies[next++]
        if (pieces) void write(pieces)
        else sock.end()
      }
    })
    void write(greeting)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as net.AddressInfo).port, received }
}
