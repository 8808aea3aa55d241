// G8/G9: a recipient of a checked domain that the directory
// (support-codes.recipients, ../lists/recipients.ts) does not have.
import { Verdict } from '../codes/render'
import { normalizeDomain } from '../lists/list-file'
import { Directory, RECIPIENTS_FILE } from '../lists/recipients'

export interface RecipientFacts {
  /** The recipient, local@domain. */
  rcpt: string
  /** The recipient's domain. */
  domain: string
}

/** G8/G9 for a recipient of a checked domain ([recipients] domains) that the directory does not have. */
export function recipientCheck(facts: RecipientFacts, cfg: { domains: readonly string[] }, directory: Directory): Verdict | undefined {
  const domain = normalizeDomain(facts.domain)
  if (!domain || !cfg.domains.some((d) => normalizeDomain(d) === domain)) return undefined
  // RFC 5321 4.5.1: every domain must accept mail for its postmaster.
  if (facts.rcpt.split('@')[0].toLowerCase() === 'postmaster') return undefined
  if (directory.has(facts.rcpt)) return undefined
  return { id: 'G8/G9', vars: { email: facts.rcpt }, reason: `${facts.rcpt} is not in ${RECIPIENTS_FILE}` }
}
