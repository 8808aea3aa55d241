// Where to call: the servers of a recipient domain, from a configured route
// or from DNS (MX by preference, else the domain itself), and [callout]
// routes read from config.
import * as net from 'node:net'
import { Dns } from '../dns/resolver'

export interface CalloutTarget { host: string; port: number }

const MAX_TARGETS = 10

/** host:port, an IPv6 address in brackets; also the key of the per-server slots. */
export function targetName(t: CalloutTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`
}

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
