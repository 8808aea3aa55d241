// G14: MX hosts the provider will not take mail from, support-codes.mx_blocklist.
// A line is a host name (`mx.example.net` that host only; `.example.net` any
// host under example.net, not example.net itself) or an IPv4/IPv6 address or
// CIDR of an MX host. Names ignore case and a trailing dot (RFC 4343; DNS
// answers may carry the root dot or not).
import ipaddr from 'ipaddr.js'
import { ListProblem, isDomainName, normalizeDomain, parseListLines } from './list-file'

export const MX_BLOCKLIST_FILE = 'support-codes.mx_blocklist'

type Addr = ipaddr.IPv4 | ipaddr.IPv6

type Entry =
  | { kind: 'host'; name: string }
  | { kind: 'suffix'; name: string }
  | { kind: 'net'; addr: Addr; bits: number; text: string }

// IPv4-mapped IPv6 (::ffff:a.b.c.d) compares as the IPv4 address it carries.
function unmap(addr: Addr): Addr {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr
}

// Strict forms only: ipaddr.parse also takes "10" or "0x0a.1", which here
// are more likely typos than addresses.
function parseIp(text: string): Addr | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) return unmap(ipaddr.IPv6.parse(text))
  return undefined
}

function looksLikeIp(text: string): boolean {
  return text.includes(':') || /^[\d./]+$/.test(text)
}

function parseEntry(text: string): Entry | string {
  if (looksLikeIp(text)) {
    const [ip, bits, extra] = text.split('/')
    const addr = parseIp(ip)
    if (!addr || extra !== undefined) return 'bad IP address or CIDR'
    const max = addr.kind() === 'ipv4' ? 32 : 128
    if (bits === undefined) return { kind: 'net', addr, bits: max, text }
    // A mapped IPv6 CIDR (::ffff:10.0.0.0/104) keeps its prefix over the IPv4 part.
    const offset = ip.includes(':') && addr.kind() === 'ipv4' ? 96 : 0
    const n = /^\d{1,3}$/.test(bits) ? Number(bits) - offset : NaN
    if (!(n >= 0 && n <= max)) return `bad prefix length /${bits}`
    return { kind: 'net', addr, bits: n, text }
  }
  const suffix = text.startsWith('.')
  const name = normalizeDomain(suffix ? text.slice(1) : text)
  if (!isDomainName(name)) return `bad host name "${text}"`
  return { kind: suffix ? 'suffix' : 'host', name }
}

export class MxBlocklist {
  /** Whether any entry is an address: only then are the MX hosts' addresses looked up. */
  readonly hasAddresses: boolean
  /** Entries held. */
  readonly size: number

  private constructor(
    private readonly hosts: ReadonlySet<string>,
    // Stored without the leading dot.
    private readonly suffixes: ReadonlySet<string>,
    private readonly nets: ReadonlyArray<Extract<Entry, { kind: 'net' }>>,
  ) {
    this.hasAddresses = nets.length > 0
    this.size = hosts.size + suffixes.size + nets.length
  }

  static parse(lines: readonly string[], file = MX_BLOCKLIST_FILE): { list: MxBlocklist; problems: ListProblem[] } {
    const { entries, problems } = parseListLines(file, lines, parseEntry)
    const hosts = new Set<string>()
    const suffixes = new Set<string>()
    const nets: Array<Extract<Entry, { kind: 'net' }>> = []
    for (const entry of entries) {
      if (entry.kind === 'host') hosts.add(entry.name)
      else if (entry.kind === 'suffix') suffixes.add(entry.name)
      else nets.push(entry)
    }
    return { list: new MxBlocklist(hosts, suffixes, nets), problems }
  }

  /** The entry a host name matches (`mx.example.net` or `.example.net`), or undefined. */
  matchHost(name: string): string | undefined {
    const host = normalizeDomain(name)
    if (!host) return undefined
    if (this.hosts.has(host)) return host
    // One lookup per parent name: mx.a.example tries a.example, then example.
    for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      const parent = host.slice(dot + 1)
      if (this.suffixes.has(parent)) return `.${parent}`
    }
    return undefined
  }

  /** The address or CIDR entry an IP falls in, as written, or undefined. */
  matchAddress(ip: string): string | undefined {
    const addr = parseIp(ip.trim().replace(/^\[|\]$/g, ''))
    if (!addr) return undefined
    const hit = this.nets.find((net) => net.addr.kind() === addr.kind() && addr.match(net.addr, net.bits))
    return hit?.text
  }
}
