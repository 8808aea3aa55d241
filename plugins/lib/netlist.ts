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
