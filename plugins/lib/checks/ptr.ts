// G1F: the client IP must have a PTR record. A lookup that fails (SERVFAIL,
// timeout) is not "no PTR": [ptr] dns_error decides. With [ptr] fcrdns, one
// of the PTR names must also resolve back to the IP (forward-confirmed
// reverse DNS, as Postfix's reject_unknown_client_hostname).
import { Lookup } from '../dns/resolver'
import { Verdict } from '../codes/render'

export interface PtrFacts {
  ip: string
  ptr: Lookup<string>
  /** With fcrdns: whether a PTR name resolves back to the IP. */
  forward?: 'match' | 'nomatch' | 'error'
}

export interface PtrConfig {
  enabled: boolean
  dns_error: 'defer' | 'accept'
  fcrdns: boolean
}

export function ptrCheck(facts: PtrFacts, cfg: PtrConfig): Verdict | undefined {
  if (!cfg.enabled) return undefined
  const g1f = (reason: string): Verdict => ({ id: 'G1F', vars: { ip: facts.ip }, reason })
  const onError = (reason: string): Verdict | undefined => (cfg.dns_error === 'defer' ? g1f(`${reason}; dns_error=defer`) : undefined)
  switch (facts.ptr.status) {
    case 'none':
      return g1f(`no PTR record (${facts.ptr.code})`)
    case 'error':
      return onError(`PTR lookup failed (${facts.ptr.code})`)
    case 'ok':
      if (!cfg.fcrdns) return undefined
      if (facts.forward === 'nomatch') return g1f(`no PTR name (${facts.ptr.values.join(', ')}) resolves back to the IP`)
      if (facts.forward === 'error') return onError('forward lookup of the PTR names failed')
      return undefined
  }
}
