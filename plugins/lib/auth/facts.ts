// What authentication found out about one message: plain data for the SPF
// and DMARC checks and for the log. Nothing here decides a reply.
import { MailauthResolver } from '../dns/mailauth'

/** RFC 7208 2.6: the seven SPF results. */
export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror'

export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror'
export type DmarcPolicy = 'reject' | 'quarantine' | 'none'

/** The DMARC outcome for one Author Domain (one RFC5322.From domain). */
export interface DmarcOutcome {
  result: DmarcResult
  /** The policy to apply on fail, after sp/np and t=y as mailauth applies them. */
  policy?: DmarcPolicy
  /** The domain whose record applied: {DMARC DOMAIN} (the organizational domain when the policy came from there). */
  domain?: string
  /** The Author Domain. */
  fromDomain?: string
  /** The From address with that domain: {EMAIL} of G1E. */
  address?: string
  alignment?: { spf: boolean; dkim: boolean }
  /**
   * Set on a fail when an identifier that could have aligned got a temporary
   * error (SPF temperror, a DKIM key lookup that failed): the fail is not
   * known to be one, so the check treats a reject as a temporary failure.
   */
  uncertain?: string
  /** Why, for the log: mailauth's comment or error, a time limit. */
  reason?: string
}

/** What a message's ARC chain (RFC 8617) vouches for, for the DMARC override. */
export interface ArcFacts {
  /** RFC 8617 5.2's chain validation status; a chain not verified (too long, too late) is fail. */
  result: 'pass' | 'fail' | 'none'
  /** d= of the newest ARC-Seal (the highest i=), lower case; on pass. */
  sealer?: string
  /** ARC sets in the chain; on pass. */
  instances?: number
  /** The first ARC-Authentication-Results' (i=1) dmarc= result and its header.from, lower case; on pass. */
  firstDmarc?: { result: string; from?: string }
  /** Why, for the log. */
  reason?: string
}

export interface AuthFacts {
  spf: {
    result: SpfResult
    /** The MAIL FROM domain, or the HELO domain for the null sender (RFC 7208 2.4). */
    domain: string
    source: 'haraka-plugin-spf' | 'mailauth'
    reason?: string
  }
  /** RFC5322.From as found. */
  from: {
    addresses: string[]
    headerCount: number
    /** The distinct Author Domains evaluated, lower case. */
    domains: string[]
    /** What was decided for an unusual From (none, no address, several), for the log. */
    note?: string
    /**
     * Set when From names more distinct domains than [dmarc]
     * max_from_domains: none is evaluated and `domain` is the first past the limit.
     */
    overLimit?: { domain: string; count: number; limit: number }
  }
  /**
   * The strictest outcome over the From domains (RFC 7489 6.6.1); undefined
   * when the message has no Author Domain (see from.note).
   */
  dmarc?: DmarcOutcome & {
    /** With several From domains: each one's outcome, strictest first. */
    domains?: DmarcOutcome[]
  }
  /** One entry per DKIM-Signature; empty for an unsigned message. */
  dkim: Array<{ domain: string; result: string; selector?: string; comment?: string }>
  /**
   * Present when the message carries ARC fields and DKIM was verified: the
   * chain's seals verified on demand (their key lookups within the
   * message's budget and time bound), since only a message that would be
   * refused for DMARC needs them. The same promise on every call.
   */
  verifyArc?: () => Promise<ArcFacts>
  /** DNS queries this message sent, its budget ([dns] max_lookups), and the queries refused past it. */
  lookups?: { count: number; max: number; refused: number }
}

export interface AuthInput {
  /** The message as received (headers + body). */
  raw: Buffer
  ip: string
  helo: string
  /** '' for the null sender. */
  mailFrom: string
  /** This host's name. */
  mta: string
  /** The process's DnsRegistry.mailauth(); any function of that shape will do (its timeoutMs, when set, gives the default bound). */
  resolver: MailauthResolver
  /** SPF result computed by haraka-plugin-spf for this transaction, when that plugin ran (never compute SPF twice). */
  spfFromHaraka?: { result: SpfResult; domain: string }
  /** Overall bound for the whole evaluation; past it, what is unknown is temperror. Default: 3 × the resolver's timeout. */
  maxLookupsMs?: number
  /** [dns] max_lookups: DNS queries for this message, SPF, DKIM and DMARC together. Default: unbounded. */
  maxLookups?: number
  /** [dmarc] max_from_domains. Default 10. */
  maxFromDomains?: number
  /** [dmarc] max_dkim_signatures: DKIM-Signature and ARC-Message-Signature fields verified. Default 10. */
  maxDkimSignatures?: number
}
