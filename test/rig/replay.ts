// Every reply a test's client gets from a rig Haraka (the greeting, MAIL,
// RCPT, the end of DATA) is replayed through `support-codes explain` with the
// same envelope, message and config folder, and explain must give the same
// line the server sent, or accept where the server accepted. Mismatches are
// collected per node and fail the test when the node stops.
//
// The counters the server keeps (connections, accepted messages and
// recipients per sender, mailbox and IP) are tallied here from the replies
// every client of the node saw (the memory store), and given to explain as
// --counter values; with Redis, explain reads them itself before the server
// gets the command. G2: see greeting().
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CATALOG } from '../../plugins/lib/codes/catalog'
import { templateLine } from '../../plugins/lib/codes/render'
import { explain, StageName } from '../../plugins/lib/explain/explain'
import { Counters } from '../../plugins/lib/explain/counters'
import { waitFor } from './wait'

interface NodeEntry {
  configDir: string
  /** The test DNS server the node's resolvers use. */
  dns?: string
  /** Earlier copies of the config folder: until Haraka has reloaded a change, it may still answer by them. */
  earlier: string[]
  failures: string[]
  log: () => string
  /** G2 refusals replayed so far: each has its own "connections open" log line. */
  refusals: number
}

interface Tally {
  sender: Map<string, number>
  mailbox: Map<string, number>
  ipAccepted: Map<string, number>
  ipRcptOk: Map<string, number>
  ipRcptRefused: Map<string, number>
}

const nodes = new Map<number, NodeEntry>()
const tallies = new Map<string, Tally>()
let spentMs = 0
/** Replies compared so far in this process, and how many of them were the bundle's own lines. */
export const replayStats = { compared: 0, bundleLines: 0 }

/** Time spent replaying so far: tests that time the server subtract it. */
export function replayMs(): number {
  return spentMs
}

export function registerNode(port: number, configDir: string, log: () => string, dns?: string): void {
  nodes.set(port, { configDir, dns, earlier: [], failures: [], log, refusals: 0 })
  // A new node's memory starts empty (a port can come round again).
  tallies.delete(`memory:${port}`)
}

/** The mismatches found for a node; it is forgotten. */
export function unregisterNode(port: number): string[] {
  const n = nodes.get(port)
  nodes.delete(port)
  for (const dir of n?.earlier ?? []) fs.rmSync(dir, { recursive: true, force: true })
  return n?.failures ?? []
}

/** Keeps a copy of a node's config folder before a test changes it. */
export function beforeConfigChange(port: number): void {
  const n = nodes.get(port)
  if (!n) return
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-config-'))
  fs.cpSync(n.configDir, copy, { recursive: true })
  n.earlier.push(copy)
}

function storeScope(port: number, configDir: string): string {
  let ini = ''
  try {
    ini = fs.readFileSync(path.join(configDir, 'support-codes.ini'), 'utf8')
  } catch {
    // package defaults: memory
  }
  if (!/^\s*backend\s*=\s*redis\s*$/m.test(ini)) return `memory:${port}`
  let redis = ''
  try {
    redis = fs.readFileSync(path.join(configDir, 'redis.ini'), 'utf8')
  } catch {
    // default endpoint
  }
  return `redis:${/^\s*port\s*=\s*(\d+)/m.exec(redis)?.[1] ?? '6379'}`
}

function tallyOf(scope: string): Tally {
  let t = tallies.get(scope)
  if (!t) {
    t = { sender: new Map(), mailbox: new Map(), ipAccepted: new Map(), ipRcptOk: new Map(), ipRcptRefused: new Map() }
    tallies.set(scope, t)
  }
  return t
}

const bump = (m: Map<string, number>, k: string, by = 1): void => { m.set(k, (m.get(k) ?? 0) + by) }

// A reply the bundle sends: a catalog line, variables and all.
const BUNDLE_LINES = CATALOG.map((e) => {
  const pattern = templateLine(e).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[A-Z ]+\\\}|\\\$\\\{[a-z]+\\\}/g, '.*')
  return new RegExp(`^${pattern}( \\([A-Z0-9/, ]+\\))?$`)
})

export function isBundleLine(text: string): boolean {
  return BUNDLE_LINES.some((re) => re.test(text))
}

/** The message as Haraka keeps it: CRLF line ends, no dot-stuffing, no final dot. */
export function wireMessage(message: string | Buffer): Buffer {
  const text = (typeof message === 'string' ? Buffer.from(message, 'utf8') : message).toString('latin1')
  let body = text.replace(/\r\n|\r|\n/g, '\r\n')
  if (body.length > 0 && !body.endsWith('\r\n')) body += '\r\n'
  return Buffer.from(body, 'latin1')
}

function address(arg: string): string {
  const m = /<([^>]*)>/.exec(arg)
  return (m ? m[1] : arg.trim().split(/\s+/)[0] ?? '').trim()
}

type Check = (live: string) => void

/** One client connection's view, fed by SmtpClient. */
export class Recorder {
  private readonly node: NodeEntry
  private readonly tally: Tally
  private readonly redis: boolean
  private helo = ''
  private from: string | undefined
  private rcpts: string[] = []
  private relaying = false

  /** At the TCP connect, before the greeting. */
  static for(port: number, ip: string): Recorder | undefined {
    const node = nodes.get(port)
    return node ? new Recorder(port, node, ip) : undefined
  }

  private constructor(port: number, node: NodeEntry, private readonly ip: string) {
    this.node = node
    const scope = storeScope(port, node.configDir)
    this.redis = scope.startsWith('redis:')
    this.tally = tallyOf(scope)
  }

  /**
   * What the server counted before this command. With Redis, explain reads
   * the store itself (it runs before the command reaches the server); with
   * the memory store, from the tally.
   */
  private counters(): Counters {
    if (this.redis) return {}
    const t = this.tally
    const ip = this.ip.toLowerCase()
    const c: Counters = {
      ip_accepted: t.ipAccepted.get(ip) ?? 0,
      ip_rcpt_ok: t.ipRcptOk.get(ip) ?? 0,
      ip_rcpt_refused: t.ipRcptRefused.get(ip) ?? 0,
      sender: this.from ? t.sender.get(this.from.toLowerCase()) ?? 0 : 0,
      mailbox: 0,
    }
    for (const r of this.rcpts) c[`mailbox:${r.toLowerCase()}`] = t.mailbox.get(r.toLowerCase()) ?? 0
    return c
  }

  /** Runs explain now (before the server sees the command) and returns the comparison with the reply to come. */
  private async prepare(stage: StageName, input: (configDir: string) => Parameters<typeof explain>[0]): Promise<Check> {
    const t0 = Date.now()
    const dirs = [this.node.configDir, ...[...this.node.earlier].reverse()]
    let got: Array<string | undefined> = []
    let failed: unknown
    try {
      for (const dir of dirs) {
        const e = await explain(input(dir))
        got.push(e.stages.find((s) => s.name === stage)?.line)
      }
    } catch (err) {
      failed = err
      got = []
    } finally {
      spentMs += Date.now() - t0
    }
    return (live) => {
      const liveIsBundle = isBundleLine(live)
      // Another plugin or Haraka itself refused first: the bundle's checks did not speak.
      if (!liveIsBundle && !/^[23]/.test(live)) return
      replayStats.compared++
      if (liveIsBundle) replayStats.bundleLines++
      if (failed) {
        this.node.failures.push(`${stage} from ${this.ip}: explain failed: ${failed instanceof Error ? failed.stack : String(failed)}`)
        return
      }
      if (got.some((line) => (liveIsBundle ? line === live : line === undefined))) return
      this.node.failures.push(`${stage} from ${this.ip}: the server sent "${live}", explain gave ${got.map((x) => `"${x ?? '(accept)'}"`).join(' / ')}`)
    }
  }

  private input(configDir: string, counters: Counters, only: StageName, to: string[] = [], message: Buffer = Buffer.alloc(0)): Parameters<typeof explain>[0] {
    return {
      message, ip: this.ip, helo: this.helo, from: this.from ?? '', to, configDir, counters, only, stopAfter: only,
      relaying: this.relaying, dnsServers: this.node.dns ? [this.node.dns] : undefined,
    }
  }

  // A client cannot see how many connections the server counted when it
  // decided (others connect and close meanwhile): a refusal is replayed with
  // the count the server logged for it, a greeting with this connection alone.
  // The client can read the refusal before Haraka's log line for it has
  // reached the rig: the line is waited for (each refusal logs one).
  async greeting(text: string): Promise<void> {
    const counters: Counters = { connections: 1 }
    if (text.startsWith('421 ')) {
      const want = ++this.node.refusals
      const lines = (): RegExpMatchArray[] => [...this.node.log().matchAll(/\((\d+) connections open, max \d+\)/g)]
      await waitFor(`Haraka's log line for refusal ${want}`, () => lines().length >= want)
      const seen = lines().pop()
      if (seen) counters.connections = Number(seen[1])
    }
    const check = await this.prepare('connect', (dir) => this.input(dir, counters, 'connect'))
    check(text)
  }


  /** Before a command is sent: returns what to do with its reply. */
  async command(line: string): Promise<(text: string) => void> {
    const verb = line.slice(0, 4).toUpperCase()
    if (verb === 'EHLO' || verb === 'HELO') {
      return () => {
        this.helo = line.slice(5).trim()
        this.from = undefined
        this.rcpts = []
      }
    }
    if (verb === 'AUTH') return (text) => { if (/^235/.test(text)) this.relaying = true }
    if (verb === 'RSET') {
      return () => {
        this.from = undefined
        this.rcpts = []
      }
    }
    if (verb === 'MAIL') {
      this.from = address(line.slice(line.indexOf(':') + 1))
      this.rcpts = []
      const counters = this.counters()
      const check = await this.prepare('MAIL FROM', (dir) => this.input(dir, counters, 'MAIL FROM'))
      return (text) => {
        check(text)
        if (!/^2/.test(text)) this.from = undefined
      }
    }
    if (verb === 'RCPT' && this.from !== undefined) {
      const rcpt = address(line.slice(line.indexOf(':') + 1))
      const counters = { ...this.counters(), [`mailbox:${rcpt.toLowerCase()}`]: this.tally.mailbox.get(rcpt.toLowerCase()) ?? 0 }
      if (this.redis) delete counters[`mailbox:${rcpt.toLowerCase()}`]
      const check = await this.prepare('RCPT TO', (dir) => this.input(dir, counters, 'RCPT TO', [rcpt]))
      return (text) => {
        check(text)
        const ip = this.ip.toLowerCase()
        if (/^2/.test(text)) {
          this.rcpts.push(rcpt)
          bump(this.tally.ipRcptOk, ip)
        } else if (/^[45]/.test(text)) {
          bump(this.tally.ipRcptRefused, ip)
        }
      }
    }
    return () => undefined
  }

  /** Before the message is sent after DATA's 354: returns what to do with the reply to its final dot. */
  async data(message: string | Buffer): Promise<(text: string) => void> {
    if (this.from === undefined || !this.rcpts.length) return () => undefined
    const counters = this.counters()
    const raw = wireMessage(message)
    const rcpts = [...this.rcpts]
    const check = await this.prepare('DATA', (dir) => this.input(dir, counters, 'DATA', rcpts, raw))
    return (text) => {
      check(text)
      if (/^2/.test(text)) {
        const t = this.tally
        bump(t.ipAccepted, this.ip.toLowerCase())
        if (this.from) bump(t.sender, this.from.toLowerCase())
        for (const r of rcpts) bump(t.mailbox, r.toLowerCase())
      }
      this.from = undefined
      this.rcpts = []
    }
  }
}

/** A stopwatch for timing the server: the time spent replaying in between is left out. */
export function stopwatch(): () => number {
  const t0 = Date.now()
  const r0 = spentMs
  return () => Date.now() - t0 - (spentMs - r0)
}
