// A private redis-server for the end-to-end tests: loopback only, a free
// port, no persistence, its working dir in a temp folder. The system's redis
// service (port 6379) is never used.

import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'
import { RigServer } from './rig-server'

const HOST = '127.0.0.1'
const COMMAND_TIMEOUT_MS = 5_000

const REDIS_BIN = fs.existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server'

export type Reply = string | number | null | Reply[]

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

/**
 * n different free loopback ports, for a set of servers started together
 * (two quick probes can be handed the same port).
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort(HOST))
  return [...ports]
}

/**
 * Sends one command to the redis-server (or sentinel) at host:port on a fresh
 * connection and returns the decoded reply: status and bulk replies as
 * strings, integers as numbers, nil as null, arrays as arrays. An error reply
 * rejects.
 */
export function redisCommand(port: number, args: string[], host = HOST): Promise<Reply> {
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
    const sock = net.connect({ host, port }, () => sock.write(encode(args)))
    sock.setTimeout(COMMAND_TIMEOUT_MS, () =>
      finish(new Error(`redis ${host}:${port}: no reply to ${args[0]} in ${COMMAND_TIMEOUT_MS} ms`)),
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
    sock.on('end', () => finish(new Error(`redis ${host}:${port}: closed without a reply to ${args[0]}`)))
    sock.on('error', (err) => finish(err))
  })
}

export class Redis extends RigServer {
  readonly host = HOST
  readonly port: number

  private constructor(
    dir: string,
    port: number,
    private readonly extraArgs: string[],
  ) {
    super(dir)
    this.port = port
  }

  /**
   * `args` are more server arguments, after the rig's own (a later argument
   * wins): e.g. `['--replicaof', '127.0.0.1', '7000']` or the cluster
   * settings. A relative file name in them is inside the server's temp dir.
   */
  static async start(opts: { port?: number; args?: string[] } = {}): Promise<Redis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-redis-'))
    try {
      const redis = new Redis(dir, opts.port ?? (await freePort(HOST)), opts.args ?? [])
      await redis.launch()
      return redis
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  protected async launch(): Promise<void> {
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
      ...this.extraArgs,
    ]
    await this.spawnAndWait('redis-server', REDIS_BIN, args)
  }

  protected async ping(): Promise<boolean> {
    try {
      return (await this.command('PING')) === 'PONG'
    } catch {
      return false
    }
  }

  /** One command on a fresh connection: see redisCommand(). */
  command(...args: string[]): Promise<Reply> {
    return redisCommand(this.port, args, this.host)
  }
}
