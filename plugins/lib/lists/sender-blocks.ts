// GE: senders a recipient has blocked, support-codes.sender_blocks. A line is
// `RECIPIENT SENDER`, white space between. The recipient is an address,
// `@domain` (every recipient of the domain) or `*` (every recipient); the
// sender an address or `@domain` (that domain exactly, not its subdomains).
// Case is ignored on both sides, as in the directory.
import { ListProblem, baseLocalPart, parseAddress, parseDomainEntry, parseListLines, splitAddress } from './list-file'

export const SENDER_BLOCKS_FILE = 'support-codes.sender_blocks'

interface Rule { rcpt: string; sender: string }

// One side as its lookup key: `local@domain`, `@domain` or `*`.
function side(text: string, allowStar: boolean): string | { error: string } {
  if (text === '*') return allowStar ? '*' : { error: 'the sender side cannot be *' }
  const parsed = text.startsWith('@') ? parseDomainEntry(text) : parseAddress(text)
  if (typeof parsed === 'string') return { error: parsed }
  return 'local' in parsed ? `${parsed.local}@${parsed.domain}` : `@${parsed.domain}`
}

function parseRule(text: string): Rule | string {
  const fields = text.split(/\s+/)
  if (fields.length !== 2) return 'expected RECIPIENT SENDER'
  const rcpt = side(fields[0], true)
  if (typeof rcpt !== 'string') return `recipient: ${rcpt.error}`
  const sender = side(fields[1], false)
  if (typeof sender !== 'string') return `sender: ${sender.error}`
  return { rcpt, sender }
}

// An address's lookup keys, most specific first. Subaddressing (RFC 5233,
// "+" only): a rule for `user@domain` also covers `user+tag@domain`, or a
// tag would get round it on either side.
function keys(address: string): string[] {
  const { local, domain } = splitAddress(address)
  const out = [`${local}@${domain}`]
  const base = baseLocalPart(local)
  if (base !== undefined) out.push(`${base}@${domain}`)
  out.push(`@${domain}`)
  return out
}

export class SenderBlocks {
  // Recipient key (address, @domain or *) to the sender keys it blocks: a
  // refusal costs a few map lookups, however long the file.
  private constructor(private readonly rules: ReadonlyMap<string, ReadonlySet<string>>) {}

  static parse(lines: readonly string[], file = SENDER_BLOCKS_FILE): { blocks: SenderBlocks; problems: ListProblem[] } {
    const { entries, problems } = parseListLines(file, lines, parseRule)
    const rules = new Map<string, Set<string>>()
    for (const { rcpt, sender } of entries) {
      let senders = rules.get(rcpt)
      if (!senders) rules.set(rcpt, (senders = new Set()))
      senders.add(sender)
    }
    return { blocks: new SenderBlocks(rules), problems }
  }

  /** Rules held. */
  get size(): number {
    let n = 0
    for (const senders of this.rules.values()) n += senders.size
    return n
  }

  /** The rule that blocks the sender for this recipient, as `RECIPIENT SENDER`; undefined if none. */
  match(rcpt: string, sender: string): string | undefined {
    // The null sender (bounces, RFC 5321 4.5.5) names no one to block.
    if (!sender || !rcpt || !this.rules.size) return undefined
    const senderKeys = keys(sender)
    for (const rcptKey of [...keys(rcpt), '*']) {
      const senders = this.rules.get(rcptKey)
      if (!senders) continue
      for (const senderKey of senderKeys) if (senders.has(senderKey)) return `${rcptKey} ${senderKey}`
    }
    return undefined
  }

  blocked(rcpt: string, sender: string): boolean {
    return this.match(rcpt, sender) !== undefined
  }
}
