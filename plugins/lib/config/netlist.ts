// IP and CIDR lists (the allow list, DNS list `listed` answers, MX blocklist
// addresses), IPv4 and IPv6. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as
// Node reports clients on a dual-stack socket) match their IPv4 entries.
import ipaddr from 'ipaddr.js'

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

export interface NetList {
  readonly size: number
  has(ip: string): boolean
}

function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    const addr = ipaddr.parse(text.trim().replace(/^\[|\]$/g, ''))
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      return (addr as ipaddr.IPv6).toIPv4Address()
    }
    return addr
  } catch {
    return null
  }
}

/** Parses entries; the ones that are neither an IP nor a CIDR go to `invalid`. */
export function netList(entries: readonly string[]): NetList & { invalid: string[] } {
  const ranges: Range[] = []
  const invalid: string[] = []
  for (const entry of entries) {
    const text = entry.trim()
    if (!text) continue
    try {
      if (text.includes('/')) {
        const [addr, bits] = ipaddr.parseCIDR(text)
        ranges.push([addr, bits])
      } else {
        const addr = parseIp(text)
        if (!addr) throw new Error('bad address')
        ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128])
      }
    } catch {
      invalid.push(text)
    }
  }
  return {
    invalid,
    size: ranges.length,
    has(ip: string): boolean {
      const addr = parseIp(ip)
      if (!addr) return false
      return ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))
    },
  }
}

/**
 * The key a client is counted by (G2, G28, callouts per client): an IPv4
 * address as itself; an IPv6 address as its network of `ipv6Prefix` bits
 * ([store] ipv6_prefix), written `net/prefix`, since one host can hold a
 * whole /64 and would otherwise get a count of its own for every address.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address. Text
 * that is not an address is kept as given, lower-cased.
 */
export function clientKey(ip: string, ipv6Prefix: number): string {
  const addr = parseIp(ip)
  if (!addr) return ip.trim().toLowerCase()
  if (addr.kind() === 'ipv4' || ipv6Prefix >= 128) return addr.toString()
  const bits = Math.max(0, Math.floor(ipv6Prefix))
  const bytes = addr.toByteArray()
  for (let i = 0; i < 16; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8))
    bytes[i] &= (0xff00 >> keep) & 0xff
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${bits}`
}
