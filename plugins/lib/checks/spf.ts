// R2: the MAIL FROM domain's SPF result is fail (RFC 7208 2.6.4: "an
// explicit statement that the client is not authorized"), with [spf]
// reject_fail. Every other result is accepted:
//
// - softfail (2.6.5) and neutral (2.6.2): the domain itself asks for no
//   refusal;
// - none (2.6.1): the domain publishes nothing;
// - permerror (2.6.7): the domain's record is broken; 2.6.7 leaves it to
//   local policy, and refusing would punish its every message for a typo;
// - temperror (2.6.6): the catalog has no temporary SPF reply, so it is
//   accepted; it still counts for DMARC, where a reject that depends on it
//   defers with G1E (see ../auth/dmarc.ts).
//
// A fail is not refused when DMARC passed (an aligned DKIM signature): RFC
// 7489 10.1 warns that refusing on SPF "-all" before DMARC is evaluated
// loses mail the domain owner authenticated, forwarded mail above all.
import { AuthFacts } from '../auth/facts'
import { Verdict } from '../codes/render'

export interface SpfConfig {
  reject_fail: boolean
}

export function spfCheck(facts: Pick<AuthFacts, 'spf'> & Partial<Pick<AuthFacts, 'dmarc'>>, cfg: SpfConfig): Verdict | undefined {
  const { result, domain, source } = facts.spf
  if (result !== 'fail' || !cfg.reject_fail || !domain) return undefined
  if (facts.dmarc?.result === 'pass') return undefined
  return { id: 'R2', vars: { mailFromDomain: domain }, reason: `SPF fail for ${domain} (${source})` }
}
