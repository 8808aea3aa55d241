// A small authoritative DNS server for the tests. It answers on 127.0.0.1
// over UDP and TCP on one port, so a resolver pointed at "127.0.0.1:PORT"
// finds every name the test defines and nothing else.
import * as dgram from 'node:dgram'
import * as net from 'node:net'
import * as dnsPacket from 'dns-packet'

export type RecordSpec =
  | { type: 'A' | 'AAAA' | 'PTR' | 'CNAME' | 'NS'; data: string; ttl?: number }
  | { type: 'MX'; data: { preference: number; exchange: string }; ttl?: number }
  | { type: 'TXT'; data: string | string[]; ttl?: number }

// Names are case-insensitive and written without a trailing dot.
export interface Zone {
  [name: string]: RecordSpec[]
}

export interface StartOptions {
  records?: Zone
  servfail?: string[]
  silent?: string[]
  port?: number
}

export interface QueryLogEntry {
  name: string
  type: string
  proto: 'udp' | 'tcp'
}

const HOST = '127.0.0.1'
const DEFAULT_TTL = 300
// Classic DNS limit for UDP answers; we do not speak EDNS, so larger answers
// go out truncated and the resolver repeats the query over TCP.
const UDP_MAX = 512
const MAX_CNAME_CHAIN = 8

const RCODE_NOERROR = 0
const RCODE_FORMERR = 1
const RCODE_SERVFAIL = 2
const RCODE_NXDOMAIN = 3
const RCODE_NOTIMP = 4

function norm(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase()
}

// --- name helpers -----------------------------------------------------------

function ipv4Octets(ip: string): string[] {
  if (!net.isIPv4(ip)) throw new Error(`not an IPv4 address: ${ip}`)
  return ip.split('.').map((o) => String(Number(o)))
}

// The 32 hex nibbles of an IPv6 address, most significant first.
function ipv6Nibbles(ip: string): string[] {
  let addr = ip.replace(/%.*$/, '')
  if (!net.isIPv6(addr)) throw new Error(`not an IPv6 address: ${ip}`)
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr)
  if (quad) {
    const o = quad[1].split('.').map(Number)
    const hi = ((o[0] << 8) | o[1]).toString(16)
    const lo = ((o[2] << 8) | o[3]).toString(16)
    addr = addr.slice(0, quad.index) + `${hi}:${lo}`
  }
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined]
  const headGroups = head ? head.split(':') : []
  let groups: string[]
  if (tail === undefined) {
    groups = headGroups
  } else {
    const tailGroups = tail ? tail.split(':') : []
    const fill = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0')
    groups = [...headGroups, ...fill, ...tailGroups]
  }
  return groups.map((g) => g.padStart(4, '0').toLowerCase()).join('').split('')
}

// The reverse-lookup name of an address: 4.3.2.1.in-addr.arpa for IPv4,
// the nibble name under ip6.arpa for IPv6.
export function ptrName(ip: string): string {
  if (net.isIPv4(ip)) return reverseName(ip, 'in-addr.arpa')
  return reverseName(ip, 'ip6.arpa')
}

// The name a DNS list is queried at for an address: 4.3.2.1.zone, or the
// reversed nibbles for IPv6.
export function reverseName(ip: string, zone: string): string {
  const labels = net.isIPv4(ip) ? ipv4Octets(ip) : ipv6Nibbles(ip)
  const suffix = norm(zone)
  return [...labels.reverse(), ...(suffix ? [suffix] : [])].join('.')
}

// --- record conversion ------------------------------------------------------

// A TXT character-string holds at most 255 bytes; longer text is split the
// way zone files do it, into several strings of one record.
function txtStrings(data: string | string[]): Buffer[] {
  const parts = Array.isArray(data) ? data : [data]
  const out: Buffer[] = []
  for (const part of parts) {
    const buf = Buffer.from(String(part), 'utf8')
    if (buf.length === 0) out.push(buf)
    for (let i = 0; i < buf.length; i += 255) out.push(buf.subarray(i, i + 255))
  }
  return out
}

function toAnswer(owner: string, rec: RecordSpec): dnsPacket.Answer {
  const ttl = rec.ttl ?? DEFAULT_TTL
  switch (rec.type) {
    case 'MX':
      return {
        type: 'MX',
        name: owner,
        ttl,
        class: 'IN',
        data: { preference: rec.data.preference, exchange: norm(rec.data.exchange) },
      }
    case 'TXT':
      return { type: 'TXT', name: owner, ttl, class: 'IN', data: txtStrings(rec.data) }
    case 'A':
    case 'AAAA':
      return { type: rec.type, name: owner, ttl, class: 'IN', data: rec.data }
    default:
      return { type: rec.type, name: owner, ttl, class: 'IN', data: norm(rec.data) }
  }
}

// --- the server -------------------------------------------------------------

type Lookup = { exists: false } | { exists: true; records: RecordSpec[] }

export class TestDns {
  readonly host: string = HOST
  readonly port: number
  queries: QueryLogEntry[] = []

  private readonly zone = new Map<string, RecordSpec[]>()
  private readonly servfailNames = new Set<string>()
  private readonly silentNames = new Set<string>()
  private readonly delays = new Map<string, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly conns = new Set<net.Socket>()
  private stopping: Promise<void> | undefined

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    port: number,
  ) {
    this.port = port
  }

  static async start(opts: StartOptions = {}): Promise<TestDns> {
    const { udp, tcp, port } = await bindBoth(opts.port)
    const dns = new TestDns(udp, tcp, port)
    for (const [name, recs] of Object.entries(opts.records ?? {})) dns.add(name, recs)
    for (const name of opts.servfail ?? []) dns.servfail(name)
    for (const name of opts.silent ?? []) dns.silent(name)
    udp.on('message', (msg, rinfo) => dns.onUdp(msg, rinfo))
    // A socket error must not take the test process down.
    udp.on('error', () => {})
    tcp.on('connection', (sock) => dns.onTcp(sock))
    tcp.on('error', () => {})
    return dns
  }

  get address(): string {
    return `${this.host}:${this.port}`
  }

  add(name: string, rec: RecordSpec | RecordSpec[]): void {
    const key = norm(name)
    const list = this.zone.get(key) ?? []
    list.push(...(Array.isArray(rec) ? rec : [rec]))
    this.zone.set(key, list)
  }

  set(name: string, recs: RecordSpec[]): void {
    this.zone.set(norm(name), [...recs])
  }

  remove(name: string): void {
    this.zone.delete(norm(name))
  }

  servfail(name: string, on = true): void {
    toggle(this.servfailNames, norm(name), on)
  }

  silent(name: string, on = true): void {
    toggle(this.silentNames, norm(name), on)
  }

  delay(name: string, ms: number): void {
    if (ms > 0) this.delays.set(norm(name), ms)
    else this.delays.delete(norm(name))
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      for (const t of this.timers) clearTimeout(t)
      this.timers.clear()
      for (const sock of this.conns) sock.destroy()
      this.conns.clear()
      let pending = 2
      const done = () => {
        if (--pending === 0) resolve()
      }
      try {
        this.udp.close(done)
      } catch {
        done()
      }
      this.tcp.close(() => done())
    })
    return this.stopping
  }

  // --- transport ------------------------------------------------------------

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.handle(msg, 'udp', (reply) => {
      if (this.stopping) return
      this.udp.send(reply, rinfo.port, rinfo.address, () => {})
    })
  }

  private onTcp(sock: net.Socket): void {
    if (this.stopping) {
      sock.destroy()
      return
    }
    this.conns.add(sock)
    sock.on('close', () => this.conns.delete(sock))
    sock.on('error', () => {})
    // Messages may arrive split across reads or several in one read.
    let buf: Buffer = Buffer.alloc(0)
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0)
        if (buf.length < 2 + len) break
        const msg = buf.subarray(2, 2 + len)
        buf = buf.subarray(2 + len)
        this.handle(msg, 'tcp', (reply) => {
          if (sock.destroyed || !sock.writable) return
          const framed = Buffer.alloc(2 + reply.length)
          framed.writeUInt16BE(reply.length, 0)
          reply.copy(framed, 2)
          sock.write(framed)
        })
      }
    })
  }

  // --- query handling -------------------------------------------------------

  private handle(msg: Buffer, proto: 'udp' | 'tcp', send: (reply: Buffer) => void): void {
    let query: dnsPacket.DecodedPacket
    try {
      query = dnsPacket.decode(msg)
    } catch {
      return // malformed: ignore, as a real server would
    }
    if (query.type !== 'query') return
    const q = query.questions?.[0]
    const opcode = (query as { opcode?: string }).opcode
    let reply: Buffer
    let wait = 0
    try {
      if (!q || query.questions?.length !== 1) {
        reply = this.encodeReply(query, RCODE_FORMERR, [], proto)
      } else if (opcode !== undefined && opcode !== 'QUERY') {
        reply = this.encodeReply(query, RCODE_NOTIMP, [], proto)
      } else {
        const name = norm(q.name)
        this.queries.push({ name, type: String(q.type), proto })
        if (this.silentNames.has(name)) return
        wait = this.delays.get(name) ?? 0
        if (this.servfailNames.has(name)) {
          reply = this.encodeReply(query, RCODE_SERVFAIL, [], proto)
        } else {
          const { rcode, answers } = this.resolve(q.name, String(q.type))
          reply = this.encodeReply(query, rcode, answers, proto)
        }
      }
    } catch {
      // A record the encoder rejects (say, a bad address) must still get
      // an answer, or the test would only see a timeout.
      try {
        reply = this.encodeReply(query, RCODE_SERVFAIL, [], proto)
      } catch {
        return
      }
    }
    if (wait > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t)
        send(reply)
      }, wait)
      this.timers.add(t)
    } else {
      send(reply)
    }
  }

  private encodeReply(
    query: dnsPacket.DecodedPacket,
    rcode: number,
    answers: dnsPacket.Answer[],
    proto: 'udp' | 'tcp',
  ): Buffer {
    const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | rd | rcode
    const packet: dnsPacket.Packet = {
      type: 'response',
      id: query.id,
      flags,
      questions: query.questions ?? [],
      answers,
    }
    const full = dnsPacket.encode(packet)
    if (proto === 'tcp' || full.length <= UDP_MAX) return full
    // Too big for plain UDP: send the question only, with TC set, so the
    // resolver asks again over TCP.
    return dnsPacket.encode({
      ...packet,
      flags: flags | dnsPacket.TRUNCATED_RESPONSE,
      answers: [],
    })
  }

  private resolve(qname: string, qtype: string): { rcode: number; answers: dnsPacket.Answer[] } {
    const answers: dnsPacket.Answer[] = []
    // The owner name goes back as the client wrote it.
    let owner = qname.replace(/\.+$/, '')
    let found = this.lookup(norm(owner))
    if (!found.exists) return { rcode: RCODE_NXDOMAIN, answers }
    const seen = new Set<string>([norm(owner)])
    for (let hop = 0; ; hop++) {
      // A CNAME to a name that does not exist: the rcode is that of the
      // last name in the chain (RFC 6604), as a recursive resolver says.
      if (!found.exists) return { rcode: RCODE_NXDOMAIN, answers }
      const recs = found.records
      if (qtype === 'ANY') {
        for (const r of recs) answers.push(toAnswer(owner, r))
        break
      }
      const cname = recs.find((r) => r.type === 'CNAME')
      if (cname && qtype !== 'CNAME') {
        answers.push(toAnswer(owner, cname))
        const target = norm(cname.data as string)
        if (hop >= MAX_CNAME_CHAIN || seen.has(target)) break
        seen.add(target)
        owner = target
        found = this.lookup(target)
        continue
      }
      for (const r of recs) if (r.type === qtype) answers.push(toAnswer(owner, r))
      break
    }
    return { rcode: RCODE_NOERROR, answers }
  }

  // Finds the records for a name: the exact name first, then the wildcard
  // below its closest existing ancestor (RFC 4592).
  private lookup(name: string): Lookup {
    const exact = this.zone.get(name)
    if (exact) return { exists: true, records: exact }
    // A name with names below it exists even without records of its own.
    if (this.hasDescendant(name)) return { exists: true, records: [] }
    const labels = name.split('.')
    for (let i = 1; i < labels.length; i++) {
      const ancestor = labels.slice(i).join('.')
      if (!this.zone.has(ancestor) && !this.hasDescendant(ancestor)) continue
      const wild = this.zone.get(`*.${ancestor}`)
      return wild ? { exists: true, records: wild } : { exists: false }
    }
    return { exists: false }
  }

  private hasDescendant(name: string): boolean {
    const suffix = `.${name}`
    for (const key of this.zone.keys()) if (key.endsWith(suffix)) return true
    return false
  }
}

function toggle(set: Set<string>, name: string, on: boolean): void {
  if (on) set.add(name)
  else set.delete(name)
}

// Binds UDP and TCP to the same port. Without a fixed port the kernel picks
// one for UDP and we retry if TCP finds that number taken.
async function bindBoth(
  fixed?: number,
): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  let lastErr: unknown
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4')
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject)
        udp.bind(fixed ?? 0, HOST, () => {
          udp.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      lastErr = err
      udp.close()
      if (fixed !== undefined) throw err
      continue
    }
    const port = udp.address().port
    const tcp = net.createServer()
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject)
        tcp.listen(port, HOST, () => {
          tcp.off('error', reject)
          resolve()
        })
      })
      return { udp, tcp, port }
    } catch (err) {
      lastErr = err
      udp.close()
      if (fixed !== undefined) throw err
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error('could not bind the test DNS server')
}
