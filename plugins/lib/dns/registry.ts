// The DNS front-ends of one Haraka process (or of one explain run) and the
// views on them. Views on the same [dns] settings share one front-end, so
// the checks' Dns and mailauth's resolver keep one set of answers; a view
// whose settings change starts on a fresh front-end, and the old one goes
// once no view holds it.
import { FrontEnd } from './front-end'
import { Dns, dnsView } from './resolver'
import { MailauthResolver, mailauthView } from './mailauth-view'

export class DnsRegistry {
  /** The front-end each view holds now, by view: one per [dns] settings in use. */
  private readonly held = new Map<string, { signature: string; frontEnd: FrontEnd }>()
  private readonly checks = new Map<boolean, { frontEnd: FrontEnd; dns: Dns }>()
  private forMailauth: { frontEnd: FrontEnd; resolver: MailauthResolver } | undefined

  /** @param failed told once per lookup the DNS failed (timeout, SERVFAIL, ...), on any front-end made here. */
  constructor(private readonly failed?: () => void) {}

  /**
   * The front-end for these settings that `holder` (one name per view) is to
   * use, shared with every other holder on the same settings. A holder gets
   * another only when its settings change; its old front-end (and cache)
   * goes unless another holder still has it.
   */
  frontEnd(holder: string, servers: readonly string[], timeoutSec: number, cacheSec: number): FrontEnd {
    const signature = JSON.stringify([servers, timeoutSec, cacheSec])
    const mine = this.held.get(holder)
    if (mine?.signature === signature) return mine.frontEnd
    let frontEnd: FrontEnd | undefined
    for (const h of this.held.values()) if (h.signature === signature) frontEnd = h.frontEnd
    frontEnd ??= new FrontEnd(servers, timeoutSec, cacheSec, this.failed)
    this.held.set(holder, { signature, frontEnd })
    return frontEnd
  }

  /**
   * The checks' resolver for these [dns] settings, on the same front-end and
   * cache as mailauth() for them; `cached: false` gives one that always asks
   * (the DNS list self-tests must see the zone as it is now).
   */
  dns(servers: readonly string[], timeoutSec: number, cacheSec: number, cached = true): Dns {
    const frontEnd = this.frontEnd(cached ? 'dns' : 'dns-uncached', servers, timeoutSec, cached ? cacheSec : 0)
    const c = this.checks.get(cached)
    if (c?.frontEnd === frontEnd) return c.dns
    const dns = dnsView(frontEnd)
    this.checks.set(cached, { frontEnd, dns })
    return dns
  }

  /**
   * The resolver handed to mailauth for these [dns] settings (one for the
   * process: a c-ares channel per message would cost sockets for nothing),
   * on the same front-end and cache as dns() for them. Empty servers: the
   * system's resolvers, as [dns] servers documents.
   */
  mailauth(servers: readonly string[], timeoutSec: number, cacheSec = 0): MailauthResolver {
    const frontEnd = this.frontEnd('mailauth', servers, timeoutSec, cacheSec)
    if (this.forMailauth?.frontEnd !== frontEnd) this.forMailauth = { frontEnd, resolver: mailauthView(frontEnd) }
    return this.forMailauth.resolver
  }
}
