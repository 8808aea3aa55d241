// G15 and G1E from the DMARC outcomes of the message's From domains.
//
// - G15: a fail whose policy is reject (p, or sp/np for a subdomain, t=y
//   lowering it, as mailauth applies them; RFC 7489 6.6.2, 6.3), with
//   [dmarc] reject. {DMARC DOMAIN} is the domain whose record applied.
// - G1E: the policy or an alignment could not be looked up (SERVFAIL,
//   timeout, the evaluation's time bound), with [dmarc] temperror=defer;
//   RFC 7489 6.6.3 leaves DNS errors to the receiver and suggests a 4xx
//   ("fail closed") as one choice. A reject fail that only stands because an
//   identifier that might have aligned got a temporary error is treated the
//   same way: rejecting on a DNS hiccup is not a verdict.
// - A fail with quarantine or none, none, pass: accepted; the plugin
//   records the outcome.
// - No Author Domain (no From, no address): no DMARC outcome, accepted.
// - Several From domains: any known reject fail gives G15 first, then any
//   temporary failure G1E (RFC 7489 6.6.1: the strictest policy applies).
// - More From domains than [dmarc] max_from_domains: G15 naming the first
//   domain past the limit, with [dmarc] reject; none was looked up, so no
//   policy can be known, and a limit a sender reaches must not let the
//   message through unjudged. A reply only that row's text can fit.
// - Overrides (the reject fails only, never the max_from_domains limit):
//   no G15 when every From domain that would get it is in [dmarc]
//   override_domains (`override_domain`), or is vouched for by ARC
//   (`arc_override`): a chain that verified (RFC 8617 5.2), whose newest
//   seal's d= is in [dmarc] trusted_arc_sealers, and whose first
//   ARC-Authentication-Results says dmarc=pass with that domain as
//   header.from. The trusted sealer vouches for the authentication the
//   message had before it was forwarded.
import { ArcFacts, AuthFacts, DmarcOutcome } from '../auth/facts'
import { Verdict } from '../codes/render'

export interface DmarcConfig {
  reject: boolean
  temperror: 'defer' | 'accept'
  trusted_arc_sealers?: readonly string[]
  override_domains?: readonly string[]
}

/** What the check judges: the DMARC outcomes, From, and the ARC chain when it was verified. */
export type DmarcFacts = Pick<AuthFacts, 'dmarc' | 'from'> & { arc?: ArcFacts }

/** Why a G15 was not sent: `kind` is the key recorded in the results. */
export interface DmarcOverride {
  kind: 'arc_override' | 'override_domain'
  /** The From domains that would have got G15. */
  domains: string[]
  /** With arc_override: the newest seal's d=. */
  sealer?: string
}

const isReject = (o: DmarcOutcome): boolean => o.result === 'fail' && o.policy === 'reject'

/** The From domains' outcomes that are known reject fails: G15 unless overridden. */
export function rejectFails(facts: Pick<AuthFacts, 'dmarc'>): DmarcOutcome[] {
  const dmarc = facts.dmarc
  if (!dmarc) return []
  return (dmarc.domains ?? [dmarc]).filter((o) => isReject(o) && !o.uncertain)
}

const lower = (list: readonly string[] | undefined): Set<string> => new Set((list ?? []).map((d) => d.trim().toLowerCase()).filter(Boolean))

/** The override that lifts every reject fail, or undefined (also when there is none to lift). */
export function dmarcOverride(facts: DmarcFacts, cfg: DmarcConfig): DmarcOverride | undefined {
  const hits = rejectFails(facts)
  if (!hits.length || facts.from.overLimit) return undefined
  const domains = hits.map((o) => (o.fromDomain ?? '').toLowerCase())
  const forwarders = lower(cfg.override_domains)
  const arc = facts.arc
  const sealer = arc?.result === 'pass' && arc.sealer && lower(cfg.trusted_arc_sealers).has(arc.sealer) ? arc.sealer : undefined
  const vouched = sealer && arc?.firstDmarc?.result === 'pass' ? arc.firstDmarc.from : undefined
  let byArc = false
  for (const d of domains) {
    if (!d) return undefined
    if (forwarders.has(d)) continue
    if (vouched !== d) return undefined
    byArc = true
  }
  return byArc && sealer ? { kind: 'arc_override', domains, sealer } : { kind: 'override_domain', domains }
}

export function dmarcCheck(facts: DmarcFacts, cfg: DmarcConfig): Verdict | undefined {
  const over = facts.from.overLimit
  if (over && cfg.reject) {
    return { id: 'G15', vars: { dmarcDomain: over.domain }, reason: `From names ${over.count} distinct domains, more than [dmarc] max_from_domains=${over.limit}: none evaluated, refused at ${over.domain}` }
  }
  const dmarc = facts.dmarc
  if (!dmarc) return undefined
  const outcomes: DmarcOutcome[] = dmarc.domains ?? [dmarc]
  if (cfg.reject && !dmarcOverride(facts, cfg)) {
    const hit = rejectFails(facts)[0]
    const domain = hit?.domain ?? hit?.fromDomain
    if (hit && domain) return { id: 'G15', vars: { dmarcDomain: domain }, reason: `DMARC fail for ${hit.fromDomain}, policy reject from ${domain}` }
  }
  if (cfg.temperror !== 'defer') return undefined
  // An uncertain reject matters only where a reject would be sent.
  const unknown = outcomes.find((o) => o.result === 'temperror' || (cfg.reject && isReject(o) && o.uncertain))
  // {EMAIL} is the From address; a safety-net temperror has none to name.
  const email = unknown?.address ?? facts.from.addresses[0]
  if (!unknown || !email) return undefined
  const why = unknown.result === 'temperror' ? unknown.reason ?? 'temporary DNS failure' : unknown.uncertain
  return { id: 'G1E', vars: { email }, reason: `DMARC lookup for ${unknown.fromDomain ?? 'the From domain'} failed temporarily: ${why}` }
}
