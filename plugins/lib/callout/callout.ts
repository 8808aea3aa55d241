// Live recipient verification (G6, G7, G8/G9): one short SMTP dialogue with
// the recipient domain's own server, stopping at the RCPT TO answer. No mail
// is sent. Every failure becomes an answer; nothing here throws.
import * as net from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { Dns } from '../dns/resolver'

export type CalloutAnswer =
  | { result: 'valid'; code: number; reply: string }
  /** User unknown: 550/551/553, or any 5xx whose enhanced code is 5.1.x. */
  | { result: 'unknown'; code: number; reply: string }
  /** Any other 5xx to RCPT TO. */
  | { result: 'refused'; code: number; reply: string }
  /** 4xx at any step, timeout, no connection, connection dropped, garbage. */
  | { result: 'tempfail'; code?: number; reply: string }

export interface CalloutTarget { host: string; port: number }

export interface CalloutOptions {
  /** Name given in EHLO/HELO. */
  helo: string
  /** Bound on one whole call, waiting for a slot included. */
  timeoutMs: number
  /** Dialogues open at once to one host:port (at least 1). */
  maxPerServer: number
  /** Callouts open at once for one client ([callout] max_per_client; at least 1). */
  maxPerClient?: number
  /** Callouts waiting for a slot in this process, all together ([callout] max_queue); one more is refused at once. */
  maxQueue?: number
  /** Reverse-path for MAIL FROM; default '' (MAIL FROM:<>). */
  sender?: string
}

// A slot that comes free with less time than this left is not taken: no
// dialogue of five round trips fits, and the connection would only be dropped.
const MIN_DIALOGUE_MS = 50
// How long QUIT's 221 may take before the socket is destroyed anyway.
const QUIT_GRACE_MS = 1000
// RFC 5321 4.5.3.1.5 allows 512 octets a reply line; be generous, not endless.
const MAX_LINE = 2048
const MAX_LINES = 100
const MAX_REPLY_TEXT = 512

const now = (): number => performance.now()

/** [callout] max_per_client and max_queue when none is given (the settings' defaults). */
const DEFAULT_MAX_PER_CLIENT = 3
const DEFAULT_MAX_QUEUE = 100

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f]/g

export function targetName(t: CalloutTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`
}

interface Reply { code: number; text: string; lines: string[] }

interface Attempt {
  answer: CalloutAnswer
  /** Failed before the server said 220: the next target may be tried. */
  connectFailure: boolean
}

function tempfail(reply: string, code?: number): CalloutAnswer {
  return code === undefined ? { result: 'tempfail', reply } : { result: 'tempfail', code, reply }
}

function replyText(r: Reply): string {
  const text = `${r.code} ${r.lines.join(' ')}`.replace(CONTROLS, '').trim()
  return text.length > MAX_REPLY_TEXT ? `${text.slice(0, MAX_REPLY_TEXT)}...` : text
}

/**
 * The meaning of a reply to RCPT TO. RFC 5321 4.2.3: 550 mailbox unavailable,
 * 551 user not local, 553 mailbox name not allowed; RFC 3463 3.2: X.1.x is
 * an addressing status. An enhanced code other than 5.1.x (5.7.1 policy, say)
 * turns a 550 into a refusal. RFC 2034 4: the enhanced code must agree with
 * the reply code, so a 5xx with a 2.x.x or 4.x.x one is read as if it had none.
 */
export function classifyRcpt(code: number, text: string): CalloutAnswer['result'] {
  if (code >= 200 && code < 300) return 'valid'
  if (code < 500 || code > 599) return 'tempfail'
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)/.exec(text)
  if (enhanced && enhanced[1] === '5') return enhanced[2] === '1' ? 'unknown' : 'refused'
  return code === 550 || code === 551 || code === 553 ? 'unknown' : 'refused'
}

/** Turns received bytes into whole replies (RFC 5321 4.2: "xyz-" lines continue, "xyz " or "xyz" ends). */
class ReplyParser {
  private readonly decoder = new StringDecoder('utf8')
  private buffer = ''
  private lines: string[] = []
  private code = 0

  /** Whole replies in the chunk, or an error text for a reply that is not SMTP. */
  push(chunk: Buffer): Reply[] | string {
    this.buffer += this.decoder.write(chunk)
    const out: Reply[] = []
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '')
      this.buffer = this.buffer.slice(nl + 1)
      const m = /^([1-5]\d\d)(?:([ -])(.*))?$/.exec(line)
      if (!m) return `not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`
      const code = Number(m[1])
      if (this.lines.length && code !== this.code) return `reply code changed within a reply (${this.code}, ${code})`
      this.code = code
      this.lines.push(m[3] ?? '')
      if (this.lines.length > MAX_LINES) return 'reply too long'
      if (m[2] !== '-') {
        out.push({ code, text: this.lines[0], lines: this.lines })
        this.lines = []
      }
    }
    if (this.buffer.length > MAX_LINE) return 'reply line too long'
    return out
  }
}

type Stage = 'connect' | 'greeting' | 'ehlo' | 'helo' | 'mail' | 'rcpt' | 'quit'

const WAITING_FOR: Record<Stage, string> = {
  connect: 'connection',
  greeting: 'greeting',
  ehlo: 'EHLO reply',
  helo: 'HELO reply',
  mail: 'MAIL FROM reply',
  rcpt: 'RCPT TO reply',
  quit: 'QUIT reply',
}

/**
 * One dialogue. Resolves with the answer as soon as RCPT TO is answered (or
 * anything fails); `closed` runs once the socket is gone, which may be a
 * little later while QUIT is exchanged.
 */
function dialogue(target: CalloutTarget, lines: { helo: string; sender: string; rcpt: string }, deadline: number, closed: () => void): Promise<Attempt> {
  return new Promise((resolve) => {
    const name = targetName(target)
    let stage: Stage = 'connect'
    let settled = false
    let timer: NodeJS.Timeout | undefined
    let gone = false
    const parser = new ReplyParser()

    const finish = (): void => {
      if (gone) return
      gone = true
      clearTimeout(timer)
      closed()
    }
    const settle = (answer: CalloutAnswer): void => {
      if (settled) return
      settled = true
      resolve({ answer, connectFailure: answer.result === 'tempfail' && (stage === 'connect' || stage === 'greeting') })
    }
    const fail = (why: string, code?: number): void => {
      settle(tempfail(`${name}: ${why}`, code))
      socket?.destroy()
    }

    let socket: net.Socket | undefined
    try {
      socket = net.connect({ host: target.host, port: target.port })
    } catch (err) {
      fail(`cannot connect (${(err as Error).message})`)
      finish()
      return
    }
    const sock = socket
    sock.setNoDelay(true)

    const send = (line: string, next: Stage): void => {
      stage = next
      sock.write(`${line}\r\n`)
    }
    // RFC 5321 4.1.1.10: QUIT ends the session politely. The answer is out
    // already; the 221 is awaited only briefly, never past the deadline.
    const quit = (): void => {
      send('QUIT', 'quit')
      clearTimeout(timer)
      timer = setTimeout(() => sock.destroy(), Math.min(QUIT_GRACE_MS, Math.max(0, deadline - now())))
    }
    const stop = (answer: CalloutAnswer): void => {
      settle(answer)
      quit()
    }

    const onReply = (r: Reply): void => {
      const text = replyText(r)
      switch (stage) {
        case 'greeting':
          // RFC 5321 4.3.2: 220 or 554 at connection opening.
          if (r.code === 220) send(`EHLO ${lines.helo}`, 'ehlo')
          else stop(tempfail(`${name}: greeting ${text}`, r.code))
          return
        case 'ehlo':
          // RFC 5321 3.2: a server that does not know EHLO answers 5xx; HELO then.
          if (r.code >= 200 && r.code < 300) send(`MAIL FROM:<${lines.sender}>`, 'mail')
          else if (r.code >= 500) send(`HELO ${lines.helo}`, 'helo')
          else stop(tempfail(`${name}: EHLO ${text}`, r.code))
          return
        case 'helo':
          if (r.code >= 200 && r.code < 300) send(`MAIL FROM:<${lines.sender}>`, 'mail')
          else stop(tempfail(`${name}: HELO ${text}`, r.code))
          return
        case 'mail':
          // A 5xx here refuses our reverse-path or our host, not the
          // recipient: it says nothing about the address, so tempfail.
          if (r.code >= 200 && r.code < 300) send(`RCPT TO:<${lines.rcpt}>`, 'rcpt')
          else stop(tempfail(`${name}: MAIL FROM ${text}`, r.code))
          return
        case 'rcpt': {
          const result = classifyRcpt(r.code, r.text)
          stop(result === 'tempfail' ? tempfail(text, r.code) : { result, code: r.code, reply: text })
          return
        }
        case 'quit':
        case 'connect':
          sock.destroy()
          return
      }
    }

    timer = setTimeout(() => fail(`no ${WAITING_FOR[stage]} in time`), Math.max(0, deadline - now()))
    sock.on('connect', () => {
      stage = 'greeting'
    })
    sock.on('data', (chunk: Buffer) => {
      const replies = parser.push(chunk)
      if (typeof replies === 'string') {
        if (stage === 'quit') sock.destroy()
        else fail(`${replies} (${WAITING_FOR[stage]})`)
        return
      }
      for (const r of replies) {
        if (sock.destroyed) return
        onReply(r)
      }
    })
    sock.on('error', (err: NodeJS.ErrnoException) => fail(`${err.code ?? err.message} (${WAITING_FOR[stage]})`))
    sock.on('close', () => {
      if (!settled) fail(`connection closed (${WAITING_FOR[stage]})`)
      finish()
    })
  })
}

interface Waiter {
  deadline: number
  timer: NodeJS.Timeout
  grant: (release: Grant) => void
}

/** A release function, or why no slot was had: its deadline passed, or the process's queue was full. */
type Grant = (() => void) | 'timeout' | 'queue full'

/** Callouts waiting for a slot, all keys of all Slots of one Callout together, against [callout] max_queue. */
class WaitCount {
  n = 0
  constructor(readonly max: number) {}
}

/** Slots per key (a host:port, a client), handed out in FIFO order. */
class Slots {
  private readonly held = new Map<string, number>()
  private readonly queues = new Map<string, Waiter[]>()
  total = 0

  constructor(private readonly max: number, private readonly waiting: WaitCount) {}

  /** A release function, or why there is none; never waits when the process's queue is full. */
  acquire(key: string, deadline: number): Promise<Grant> {
    if ((this.held.get(key) ?? 0) < this.max) return Promise.resolve(this.take(key))
    if (this.waiting.n >= this.waiting.max) return Promise.resolve('queue full')
    this.waiting.n++
    return new Promise((resolve) => {
      const queue = this.queues.get(key) ?? []
      this.queues.set(key, queue)
      const grant = (g: Grant): void => {
        this.waiting.n--
        resolve(g)
      }
      const waiter: Waiter = {
        deadline,
        grant,
        timer: setTimeout(() => {
          const i = queue.indexOf(waiter)
          if (i >= 0) queue.splice(i, 1)
          if (!queue.length) this.queues.delete(key)
          grant('timeout')
        }, Math.max(0, deadline - now())),
      }
      queue.push(waiter)
    })
  }

  private take(key: string): () => void {
    this.held.set(key, (this.held.get(key) ?? 0) + 1)
    this.total++
    let done = false
    return () => {
      if (done) return
      done = true
      this.total--
      const left = (this.held.get(key) ?? 1) - 1
      if (left > 0) this.held.set(key, left)
      else this.held.delete(key)
      this.next(key)
    }
  }

  private next(key: string): void {
    const queue = this.queues.get(key)
    while (queue?.length) {
      const waiter = queue.shift() as Waiter
      clearTimeout(waiter.timer)
      if (waiter.deadline - now() < MIN_DIALOGUE_MS) {
        waiter.grant('timeout')
        continue
      }
      waiter.grant(this.take(key))
      break
    }
    if (!queue?.length) this.queues.delete(key)
  }
}

export class Callout {
  private readonly slots: Slots
  private readonly clients: Slots
  private readonly waiting: WaitCount
  private readonly helo: string
  private readonly sender: string

  constructor(private readonly opts: CalloutOptions) {
    this.waiting = new WaitCount(Math.max(0, Math.floor(opts.maxQueue ?? DEFAULT_MAX_QUEUE)))
    this.slots = new Slots(Math.max(1, Math.floor(opts.maxPerServer)), this.waiting)
    this.clients = new Slots(Math.max(1, Math.floor(opts.maxPerClient ?? DEFAULT_MAX_PER_CLIENT)), this.waiting)
    // A CR or LF in a configured name would end the command line early.
    this.helo = opts.helo.replace(CONTROLS, '').trim() || 'localhost'
    this.sender = (opts.sender ?? '').replace(CONTROLS, '').replace(/^<(.*)>$/, '$1')
  }

  /** Dialogues open now, to all servers. */
  get active(): number {
    return this.slots.total
  }

  /** Callouts waiting for a slot now, for a server or a client. */
  get queued(): number {
    return this.waiting.n
  }

  /**
   * One SMTP dialogue: connect, greeting (220), EHLO (HELO on 5xx),
   * MAIL FROM, RCPT TO:<rcpt>, QUIT. The whole call, waiting for a free slot
   * included, is bounded by timeoutMs.
   */
  async verify(target: CalloutTarget, rcpt: string, client?: string): Promise<CalloutAnswer> {
    return this.call([target], rcpt, client, true)
  }

  /**
   * Tries targets in order until one gives an answer other than a connection
   * failure (RFC 5321 5.1: the next MX when one cannot be reached), all
   * within timeoutMs in total.
   */
  async verifyAny(targets: CalloutTarget[], rcpt: string, client?: string): Promise<CalloutAnswer> {
    return this.call(targets, rcpt, client, false)
  }

  // With client (clientKey() of the SMTP client), at most maxPerClient of
  // that client's callouts are open at once: its slot is held across
  // targets, until the last socket is gone.
  private async call(targets: CalloutTarget[], rcpt: string, client: string | undefined, firstOnly: boolean): Promise<CalloutAnswer> {
    const deadline = now() + this.opts.timeoutMs
    if (!targets.length) return tempfail('no server to call')
    let release: (() => void) | undefined
    if (client !== undefined) {
      const got = await this.clients.acquire(client, deadline)
      if (got === 'queue full') return tempfail(`too many callouts waiting (${this.waiting.max})`)
      if (got === 'timeout') return tempfail(`too many callouts for client ${client}`)
      release = got
    }
    let sockets = 0
    let answered = false
    const closed = (): void => {
      sockets--
      if (answered && sockets === 0) release?.()
    }
    try {
      let last = tempfail('no server to call')
      for (const [i, target] of targets.entries()) {
        if (i > 0 && deadline - now() < MIN_DIALOGUE_MS) break
        const tried = await this.attempt(target, rcpt, deadline, () => sockets++, closed)
        if (firstOnly || !tried.connectFailure) return tried.answer
        last = tried.answer
      }
      return last
    } finally {
      answered = true
      if (sockets === 0) release?.()
    }
  }

  /** opened and closed are told when the dialogue's socket is made and gone. */
  private async attempt(target: CalloutTarget, rcpt: string, deadline: number, opened: () => void, closed: () => void): Promise<Attempt> {
    const name = targetName(target)
    try {
      const address = rcpt.trim().replace(/^<(.*)>$/, '$1')
      // A CR or LF would let the address inject a command of its own.
      if (!address || address.replace(CONTROLS, '') !== address) {
        return { answer: tempfail(`${name}: recipient not sendable`), connectFailure: false }
      }
      const got = await this.slots.acquire(name, deadline)
      if (got === 'queue full') return { answer: tempfail(`too many callouts waiting (${this.waiting.max})`), connectFailure: false }
      if (got === 'timeout') return { answer: tempfail(`too many callouts to ${name}`), connectFailure: false }
      opened()
      return await dialogue(target, { helo: this.helo, sender: this.sender, rcpt: address }, deadline, () => {
        got()
        closed()
      })
    } catch (err) {
      return { answer: tempfail(`${name}: ${(err as Error).message}`), connectFailure: false }
    }
  }
}

// --- where to call -----------------------------------------------------------

const MAX_TARGETS = 10

/**
 * Where to call for a recipient domain. A route from config wins; else the
 * domain's MX hosts by preference, each resolved to its A records; with no
 * MX the domain itself is the host (RFC 5321 5.1). A null MX (RFC 7505) or
 * a failed lookup gives no targets, with why.
 */
export async function calloutTargets(
  domain: string,
  routes: ReadonlyMap<string, CalloutTarget>,
  dns: Dns,
  port = 25,
): Promise<{ targets: CalloutTarget[]; why?: string }> {
  const d = domain.trim().toLowerCase().replace(/\.+$/, '')
  const route = routes.get(d)
  if (route) return { targets: [route] }

  const mx = await dns.mx(d)
  if (mx.status === 'error') return { targets: [], why: `MX lookup for ${d} failed (${mx.code})` }
  if (mx.status === 'none') {
    const a = await dns.a(d)
    if (a.status === 'ok') return { targets: a.values.slice(0, MAX_TARGETS).map((host) => ({ host, port })) }
    return { targets: [], why: `${d} has no MX and no A record (${a.code})` }
  }
  // RFC 7505 3: the null MX is the exchange "." (the root); it allows no others.
  const hosts = mx.values.filter((m) => m.exchange !== '' && m.exchange !== '.')
  if (!hosts.length) return { targets: [], why: `${d} has a null MX (RFC 7505): it accepts no mail` }

  const sorted = [...hosts].sort((x, y) => x.priority - y.priority)
  const addresses = await Promise.all(
    sorted.map(async (m) => {
      const exchange = m.exchange.replace(/\.+$/, '')
      // RFC 5321 5.1 wants names here, but an address is still where to go.
      if (net.isIP(exchange)) return { exchange, values: [exchange], code: '' }
      const a = await dns.a(exchange)
      return { exchange, values: a.status === 'ok' ? a.values : [], code: a.status === 'ok' ? '' : a.code }
    }),
  )
  const seen = new Set<string>()
  const targets: CalloutTarget[] = []
  for (const { values } of addresses) {
    for (const host of values) {
      if (seen.has(host) || targets.length >= MAX_TARGETS) continue
      seen.add(host)
      targets.push({ host, port })
    }
  }
  if (!targets.length) {
    const failed = addresses.map((x) => `${x.exchange} ${x.code}`).join(', ')
    return { targets, why: `no address for the MX hosts of ${d} (${failed})` }
  }
  return { targets }
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/

function isDomain(name: string): boolean {
  // All digits is a mistyped address, not a name.
  if (/^[\d.]+$/.test(name)) return false
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label))
}

/**
 * [callout] routes: "example.com=127.0.0.1:2526", "example.com=[::1]:25",
 * "example.com=mx.internal" (port 25). Domains are lower-cased; a domain
 * listed twice takes the last entry. Entries that cannot be read are
 * returned as written.
 */
export function parseRoutes(entries: readonly string[]): { routes: Map<string, CalloutTarget>; invalid: string[] } {
  const routes = new Map<string, CalloutTarget>()
  const invalid: string[] = []
  for (const entry of entries) {
    const text = entry.trim()
    if (!text) continue
    const m = /^([^=\s]+)\s*=\s*(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(text)
    const domain = m?.[1].toLowerCase().replace(/\.$/, '')
    const host = m?.[2] ?? m?.[3]?.toLowerCase()
    const port = m?.[4] === undefined ? 25 : Number(m[4])
    const hostOk = m?.[2] !== undefined ? net.isIPv6(m[2]) : host !== undefined && (net.isIPv4(host) || isDomain(host))
    if (!domain || !host || !isDomain(domain) || !hostOk || port < 1 || port > 65535) {
      invalid.push(entry)
      continue
    }
    routes.set(domain, { host, port })
  }
  return { routes, invalid }
}
