// The Author Domains of a message: the domains of its RFC5322.From
// addresses, and what is done when From is not the one mailbox RFC 7489
// expects. The decisions, each recorded in `note` for the log:
//
// - No From header, a From with no address (group syntax such as
//   `undisclosed-recipients:;`), or no address with a usable domain: there
//   is no Author Domain, so no policy to look up; DMARC is not evaluated and
//   the message is accepted as far as DMARC goes. RFC 7489 6.6.1 leaves such
//   messages to the receiver; G15 needs a policy and G1E a lookup, and
//   neither exists without a domain.
// - Several addresses in one From (RFC 5322 3.6.2 allows a mailbox-list):
//   each distinct domain is evaluated and the strictest outcome applies
//   (RFC 7489 6.6.1: "apply the DMARC check using each of those domains ...
//   and apply the most strict policy selected among the checks that fail").
// - Several From headers (RFC 5322 3.6 allows one): the same rule over the
//   domains of all of them, so an added From can never hide a failing one.
// - An address without a domain beside others with one: the others are
//   evaluated; it cannot be.
// - More distinct domains than [dmarc] max_from_domains: none is evaluated
//   (no DNS lookup for any), and the check refuses the message naming the
//   first domain past the limit. Each domain costs DNS lookups a sender
//   chooses; 5,000 of them once made 20,002 lookups for one message.
import { AuthFacts } from './facts'

export interface FromFacts {
  from: AuthFacts['from']
  /** For each domain, the first From address that carries it. */
  addressOf: Map<string, string>
}

// Characters that cannot be in a domain taken from an address; a domain
// literal ([192.0.2.1]) has no DNS name to publish a record at.
const NOT_A_DOMAIN = /[\s"<>(),;:\\@[\]]/

/** The domain of an address: after the last "@", lower case, without the root dot; undefined when there is none. */
export function addressDomain(address: string): string | undefined {
  const at = address.lastIndexOf('@')
  if (at < 0) return undefined
  const domain = address.slice(at + 1).trim().toLowerCase().replace(/\.$/, '')
  if (!domain || NOT_A_DOMAIN.test(domain) || domain.split('.').some((label) => !label)) return undefined
  return domain
}

/** From as parsed by mailauth's DKIM verifier: the addresses of every From header (groups expanded) and the header count. */
export function fromFacts(addresses: readonly string[], headerCount: number, maxDomains = Infinity): FromFacts {
  const addressOf = new Map<string, string>()
  const without: string[] = []
  for (const address of addresses) {
    const domain = addressDomain(address)
    if (domain === undefined) without.push(address)
    else if (!addressOf.has(domain)) addressOf.set(domain, address)
  }
  const all = [...addressOf.keys()]
  if (all.length > maxDomains) {
    const domain = all[maxDomains]
    const from: AuthFacts['from'] = {
      addresses: [...addresses], headerCount, domains: [], overLimit: { domain, count: all.length, limit: maxDomains },
      note: `${all.length} From domains, more than [dmarc] max_from_domains=${maxDomains}: none evaluated, ${domain} is the first past the limit`,
    }
    return { from, addressOf: new Map() }
  }
  const domains = all
  const notes: string[] = []
  if (headerCount === 0) notes.push('no From header: no Author Domain, DMARC not evaluated')
  else if (!addresses.length) notes.push('From has no address (empty or group syntax): no Author Domain, DMARC not evaluated')
  else if (!domains.length) notes.push(`no From address has a domain (${without.join(', ')}): DMARC not evaluated`)
  else if (without.length) notes.push(`From address without a domain not evaluated (${without.join(', ')})`)
  if (headerCount > 1) notes.push(`${headerCount} From headers: the domains of all are evaluated, the strictest outcome applies`)
  if (domains.length > 1) notes.push(`${domains.length} From domains (${domains.join(', ')}): each evaluated, the strictest outcome applies`)
  const from: AuthFacts['from'] = { addresses: [...addresses], headerCount, domains }
  if (notes.length) from.note = notes.join('; ')
  return { from, addressOf }
}
