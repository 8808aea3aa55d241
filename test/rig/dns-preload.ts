// Loaded with `node --require dist/test/rig/dns-preload.js` into the Haraka
// process under test. When SC_TEST_DNS ("127.0.0.1:PORT") is set it points
// every resolver in the process at the test DNS server, so the plugins see
// only the test's names and no query leaves the machine.
//
// Libraries build their own `new dns.Resolver()` / `new dns.promises.Resolver()`,
// some capturing the class at import time. This module runs before them, so
// replacing the exports on the shared module objects is enough.
//
// A default import gives the real module object (a namespace import would be
// a read-only copy under esModuleInterop), which is what we must patch.
import dns from 'node:dns'
import net from 'node:net'
import util from 'node:util'

type Family = 0 | 4 | 6
type Order = 'ipv4first' | 'ipv6first' | 'verbatim'
interface Addr {
  address: string
  family: 4 | 6
}
interface LookupOpts {
  family: Family
  all: boolean
  order: Order
}
type Callback = (err: NodeJS.ErrnoException | null, address?: string | Addr[], family?: number) => void
type AnyFn = (...args: unknown[]) => unknown

function parseServer(value: string | undefined): string | undefined {
  if (!value) return undefined
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value.trim())
  if (!m || !net.isIPv4(m[1])) return undefined
  const port = Number(m[2])
  if (port < 1 || port > 65535) return undefined
  return `${m[1]}:${port}`
}

// Names the system can answer without any DNS server.
function passThrough(hostname: unknown): boolean {
  if (typeof hostname !== 'string' || hostname === '') return true
  if (net.isIP(hostname)) return true
  return /^localhost\.?$/i.test(hostname)
}

function parseLookupOpts(options: unknown): LookupOpts {
  const out: LookupOpts = { family: 0, all: false, order: 'verbatim' }
  const famOf = (f: unknown): Family => (f === 4 || f === 'IPv4' ? 4 : f === 6 || f === 'IPv6' ? 6 : 0)
  if (typeof options === 'number' || typeof options === 'string') {
    out.family = famOf(options)
  } else if (options && typeof options === 'object') {
    const o = options as { family?: unknown; all?: unknown; order?: unknown; verbatim?: unknown }
    out.family = famOf(o.family)
    out.all = o.all === true
    if (o.order === 'ipv4first' || o.order === 'ipv6first' || o.order === 'verbatim') out.order = o.order
    else if (o.verbatim === false) out.order = 'ipv4first'
  }
  return out
}

// Shaped like the errors getaddrinfo gives, so callers' checks still match.
function lookupError(code: string, hostname: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException & { hostname?: string } = new Error(`getaddrinfo ${code} ${hostname}`)
  err.code = code
  err.syscall = 'getaddrinfo'
  err.hostname = hostname
  return err
}

function install(server: string): void {
  const servers = [server]
  const promises = dns.promises
  const OrigResolver = dns.Resolver
  const OrigPromisesResolver = promises.Resolver
  const origSetServers = dns.setServers
  const origPromisesSetServers = promises.setServers
  const origLookup = dns.lookup as unknown as AnyFn
  const origPromisesLookup = promises.lookup as unknown as AnyFn
  const origLookupService = dns.lookupService as unknown as AnyFn

  // Every resolver starts on the test server and stays there, whatever
  // servers library code later asks for. The typings declare setServers as
  // a property, so the override goes on the prototype by hand.
  type SetServers = (this: unknown, servers: readonly string[]) => void
  const baseSet = OrigResolver.prototype.setServers as SetServers
  const basePromisesSet = OrigPromisesResolver.prototype.setServers as SetServers
  class Resolver extends OrigResolver {
    constructor(options?: dns.ResolverOptions) {
      super(options)
      baseSet.call(this, servers)
    }
  }
  class PromisesResolver extends OrigPromisesResolver {
    constructor(options?: dns.ResolverOptions) {
      super(options)
      basePromisesSet.call(this, servers)
    }
  }
  Object.defineProperty(PromisesResolver, 'name', { value: 'Resolver' })
  Object.defineProperty(Resolver.prototype, 'setServers', {
    value: function setServers(this: unknown, _servers: readonly string[]): void {
      baseSet.call(this, servers)
    },
    writable: true,
    configurable: true,
  })
  Object.defineProperty(PromisesResolver.prototype, 'setServers', {
    value: function setServers(this: unknown, _servers: readonly string[]): void {
      basePromisesSet.call(this, servers)
    },
    writable: true,
    configurable: true,
  })

  const dnsObj = dns as unknown as Record<string, unknown>
  const promisesObj = promises as unknown as Record<string, unknown>
  dnsObj.Resolver = Resolver
  promisesObj.Resolver = PromisesResolver

  origSetServers(servers)
  origPromisesSetServers(servers)
  dnsObj.setServers = function setServers(_servers: readonly string[]): void {
    origSetServers(servers)
  }
  promisesObj.setServers = function setServers(_servers: readonly string[]): void {
    origPromisesSetServers(servers)
  }

  // --- lookup through the test server ---------------------------------------

  let own: InstanceType<typeof OrigPromisesResolver> | undefined
  const resolver = () => {
    if (!own) {
      own = new OrigPromisesResolver()
      own.setServers(servers)
    }
    return own
  }

  async function resolveAddrs(hostname: string, opts: LookupOpts): Promise<Addr[]> {
    const want4 = opts.family !== 6
    const want6 = opts.family !== 4
    const [r4, r6] = await Promise.allSettled([
      want4 ? resolver().resolve4(hostname) : Promise.resolve([] as string[]),
      want6 ? resolver().resolve6(hostname) : Promise.resolve([] as string[]),
    ])
    const v4: Addr[] = r4.status === 'fulfilled' ? r4.value.map((address) => ({ address, family: 4 })) : []
    const v6: Addr[] = r6.status === 'fulfilled' ? r6.value.map((address) => ({ address, family: 6 })) : []
    const list = opts.order === 'ipv6first' ? [...v6, ...v4] : [...v4, ...v6]
    if (list.length) return list
    // No address: "no such name" unless the server failed or never answered,
    // which getaddrinfo reports as a temporary failure.
    const notFound = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME'])
    for (const r of [r4, r6]) {
      if (r.status !== 'rejected') continue
      const code = (r.reason as NodeJS.ErrnoException | undefined)?.code
      if (code && !notFound.has(code)) throw lookupError('EAI_AGAIN', hostname)
    }
    throw lookupError('ENOTFOUND', hostname)
  }

  function lookup(this: unknown, ...args: unknown[]): unknown {
    const [hostname, a, b] = args
    const callback = (typeof a === 'function' ? a : b) as Callback | undefined
    const options = typeof a === 'function' ? undefined : a
    if (passThrough(hostname) || typeof callback !== 'function') return origLookup.apply(this, args)
    const opts = parseLookupOpts(options)
    resolveAddrs(hostname as string, opts).then(
      (list) => {
        if (opts.all) callback(null, list)
        else callback(null, list[0].address, list[0].family)
      },
      (err: NodeJS.ErrnoException) => callback(err),
    )
    return {}
  }
  // util.promisify(dns.lookup) gives { address, family }, as for the original.
  Object.defineProperty(lookup, util.promisify.custom, {
    value: (hostname: unknown, options?: unknown) =>
      new Promise((resolve, reject) => {
        lookup(hostname, options ?? {}, (err: NodeJS.ErrnoException | null, address?: unknown, family?: unknown) => {
          if (err) reject(err)
          else resolve({ address, family })
        })
      }),
  })

  async function promisesLookup(this: unknown, ...args: unknown[]): Promise<unknown> {
    const [hostname, options] = args
    if (passThrough(hostname)) return origPromisesLookup.apply(this, args)
    const opts = parseLookupOpts(options)
    const list = await resolveAddrs(hostname as string, opts)
    return opts.all ? list : list[0]
  }

  // lookupService asks getnameinfo, which would query the system resolver for
  // the address's name; answer the name from the test server instead.
  function lookupService(this: unknown, ...args: unknown[]): unknown {
    const [address, port, callback] = args
    if (typeof address !== 'string' || typeof callback !== 'function' || !net.isIP(address)) {
      return origLookupService.apply(this, args)
    }
    const cb = callback as (err: NodeJS.ErrnoException | null, hostname?: string, service?: string) => void
    resolver()
      .reverse(address)
      .then(
        (names) => names[0] ?? address,
        () => address,
      )
      .then((hostname) => {
        // The service name comes from the local services file, via loopback.
        origLookupService.call(dns, '127.0.0.1', port, (err: unknown, _h: unknown, service: unknown) => {
          cb(null, hostname, err ? String(port) : String(service))
        })
      })
      .catch(() => cb(null, address, String(port)))
    return {}
  }
  Object.defineProperty(lookupService, util.promisify.custom, {
    value: (address: unknown, port: unknown) =>
      new Promise((resolve, reject) => {
        lookupService(address, port, (err: NodeJS.ErrnoException | null, hostname?: string, service?: string) => {
          if (err) reject(err)
          else resolve({ hostname, service })
        })
      }),
  })

  async function promisesLookupService(address: unknown, port: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      lookupService(address, port, (err: NodeJS.ErrnoException | null, hostname?: string, service?: string) => {
        if (err) reject(err)
        else resolve({ hostname, service })
      })
    })
  }

  dnsObj.lookup = lookup
  promisesObj.lookup = promisesLookup
  dnsObj.lookupService = lookupService
  promisesObj.lookupService = promisesLookupService
}

try {
  const server = parseServer(process.env.SC_TEST_DNS)
  if (server) install(server)
  else if (process.env.SC_TEST_DNS) process.emitWarning(`SC_TEST_DNS ignored: not "127.0.0.1:PORT": ${process.env.SC_TEST_DNS}`)
} catch (err) {
  // Never break the process under test; say why DNS is not redirected.
  try {
    process.emitWarning(`dns-preload: ${(err as Error)?.message ?? String(err)}`)
  } catch {
    // nothing more to do
  }
}
