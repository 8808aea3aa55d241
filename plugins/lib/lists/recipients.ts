// G8/G9: the directory of valid recipients, support-codes.recipients. One
// address a line, or `@domain` to accept every address of a domain. Lookups
// ignore case in local parts as well as domains: RFC 5321 2.4 lets a server
// treat local parts case-sensitively, but providers hand out mailboxes that
// do not, and a directory that did would refuse mail for Bob@ that bob@ gets.
import { ListProblem, baseLocalPart, parseAddress, parseDomainEntry, parseListLines, splitAddress } from './list-file'

export const RECIPIENTS_FILE = 'support-codes.recipients'

type Entry = { address: string } | { domain: string }

function parseEntry(text: string): Entry | string {
  if (text.startsWith('@')) return parseDomainEntry(text)
  const parsed = parseAddress(text)
  return typeof parsed === 'string' ? parsed : { address: `${parsed.local}@${parsed.domain}` }
}

export class Directory {
  private constructor(
    private readonly addresses: ReadonlySet<string>,
    private readonly domains: ReadonlySet<string>,
  ) {}

  static parse(lines: readonly string[], file = RECIPIENTS_FILE): { directory: Directory; problems: ListProblem[] } {
    const { entries, problems } = parseListLines(file, lines, parseEntry)
    const addresses = new Set<string>()
    const domains = new Set<string>()
    for (const entry of entries) {
      if ('domain' in entry) domains.add(entry.domain)
      else addresses.add(entry.address)
    }
    return { directory: new Directory(addresses, domains), problems }
  }

  /** Addresses and domains listed. */
  get size(): number {
    return this.addresses.size + this.domains.size
  }

  /**
   * Whether mail for the address is accepted. Subaddressing (RFC 5233, "+"
   * as the only separator): `user+tag@domain` is valid when it is listed as
   * such or when `user@domain` is, since both reach the same mailbox.
   */
  has(address: string): boolean {
    const { local, domain } = splitAddress(address)
    if (!local || !domain) return false
    if (this.domains.has(domain) || this.addresses.has(`${local}@${domain}`)) return true
    const base = baseLocalPart(local)
    return base !== undefined && this.addresses.has(`${base}@${domain}`)
  }
}
