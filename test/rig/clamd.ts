// A private clamd for the end-to-end tests. Each instance gets its own temp
// dir with a database holding only the EICAR test signature and its own
// socket, so the system's clamav-daemon, /var/lib/clamav and /run/clamav are
// never used and nothing ever needs a signature download.

import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'
import { RigServer } from './rig-server'

// The standard 68-byte anti-virus test file (eicar.org).
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

const SIGNATURE = 'Eicar-Test-Signature'

// The name clamd reports for it. clamd appends ".UNOFFICIAL" to every name
// from a database that is not a signed Talos .cvd/.cld, and ours cannot be.
export const EICAR_VIRUS = `${SIGNATURE}.UNOFFICIAL`

const PING_TIMEOUT_MS = 2_000
const SCAN_TIMEOUT_MS = 30_000
const CHUNK = 64 * 1024

// /usr/sbin is not on every user's PATH.
const CLAMD_BIN = fs.existsSync('/usr/sbin/clamd') ? '/usr/sbin/clamd' : 'clamd'

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

export class Clamd extends RigServer {
  readonly socket: string
  private readonly conf: string
  private readonly endpoint: net.NetConnectOpts

  private constructor(dir: string, socket: string, endpoint: net.NetConnectOpts) {
    super(dir)
    this.socket = socket
    this.endpoint = endpoint
    this.conf = path.join(dir, 'clamd.conf')
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

  protected async launch(): Promise<void> {
    await this.spawnAndWait('clamd', CLAMD_BIN, ['-c', this.conf])
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
}
