// The list files (support-codes.recipients, .sender_blocks, .mx_blocklist):
// one entry a line, `#` starts a comment. Read as haraka-config's 'data'
// type, which keeps every line, so a bad entry can be reported with its line
// number instead of silently vanishing. Also the entry syntax the lists share:
// domain names and addresses.

export interface ListProblem {
  file: string
  /** 1-based line number in the file. */
  line: number
  /** The entry as read, comment and surrounding whitespace removed. */
  text: string
  message: string
}

/**
 * Parses the raw lines of a list file. A `#` starts a comment anywhere on the
 * line (so an entry cannot contain one); blank lines are skipped. parseLine
 * returns the entry, or a message saying why the line is not one: the line is
 * then skipped and reported. Entries are objects so that the two cannot be
 * confused.
 */
export function parseListLines<T extends object>(
  file: string,
  lines: readonly string[],
  parseLine: (text: string) => T | string,
): { entries: T[]; problems: ListProblem[] } {
  const entries: T[] = []
  const problems: ListProblem[] = []
  lines.forEach((raw, index) => {
    const hash = raw.indexOf('#')
    // trim() also drops a CR left by a CRLF file and a UTF-8 BOM.
    const text = (hash >= 0 ? raw.slice(0, hash) : raw).trim()
    if (!text) return
    const parsed = parseLine(text)
    if (typeof parsed === 'string') problems.push({ file, line: index + 1, text, message: parsed })
    else entries.push(parsed)
  })
  return { entries, problems }
}

/** Lower case without the trailing dot of a fully qualified name: names compare equal whatever their spelling (RFC 4343). */
export function normalizeDomain(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '')
}

// RFC 1035 2.3.1 as relaxed by RFC 1123 2.1: letters, digits and hyphens,
// not at either end of a label, labels of 1 to 63 octets. Names in DNS
// answers are A-labels, so a U-label entry could never match.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** A host or domain name, already normalized: at most 253 octets (RFC 1035 2.3.4). */
export function isDomainName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label))
}

// RFC 5321 4.1.2 Dot-string: atoms of atext (RFC 5322 3.2.3), with UTF-8
// allowed in them (RFC 6531 3.3), joined by single dots. Quoted local parts
// are not listed: no provider hands those out.
const DOT_STRING = /^[\w!#$%&'*+/=?^`{|}~\u0080-\u{10ffff}-]+(?:\.[\w!#$%&'*+/=?^`{|}~\u0080-\u{10ffff}-]+)*$/u

/** A mailbox split into local part and domain, lower case; or why it is not one. */
export function parseAddress(text: string): { local: string; domain: string } | string {
  if (/\s/.test(text)) return 'white space inside the address'
  const at = text.lastIndexOf('@')
  if (at < 0) return 'no @ in the address'
  const local = text.slice(0, at).toLowerCase()
  const domain = normalizeDomain(text.slice(at + 1))
  if (!local) return 'empty local part'
  if (!DOT_STRING.test(local)) return `bad local part "${local}"`
  if (!isDomainName(domain)) return `bad domain "${text.slice(at + 1)}"`
  return { local, domain }
}

/** An `@domain` entry: the domain, normalized; or why it is not one. */
export function parseDomainEntry(text: string): { domain: string } | string {
  const domain = normalizeDomain(text.slice(1))
  return isDomainName(domain) ? { domain } : `bad domain "${text.slice(1)}"`
}

/**
 * Splits an address as it arrives in the envelope, for lookups: lower case,
 * the domain without its trailing dot. Lenient: it never fails, it only has
 * to find what the strict parser stored.
 */
export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@')
  if (at < 0) return { local: address.toLowerCase(), domain: '' }
  return { local: address.slice(0, at).toLowerCase(), domain: normalizeDomain(address.slice(at + 1)) }
}

/**
 * The mailbox a subaddress belongs to: `user+tag` gives `user` (RFC 5233,
 * with "+" as the only separator, cut at the first one). undefined when the
 * local part carries no tag.
 */
export function baseLocalPart(local: string): string | undefined {
  const plus = local.indexOf('+')
  return plus > 0 ? local.slice(0, plus) : undefined
}
