// G14: the envelope sender's domain receives its mail at a blocked MX host,
// by name or by address (support-codes.mx_blocklist). NXDOMAIN and a null MX
// never refuse: those are other checks' business. A lookup that fails
// (SERVFAIL, timeout) is no answer either way, and the domain's owner runs
// that DNS: it defers with the bundle's MX-TEMP line ([sender_mx]
// dns_error=defer), so that breaking one's own DNS never passes the check.
import { Lookup, Mx } from '../dns/resolver'
import { normalizeDomain } from '../lists/list-file'
import { MxBlocklist } from '../lists/mx-blocklist'
import { Verdict } from '../codes/render'

export interface SenderMxFacts {
  sender: string
  domain: string
  /** The domain's MX lookup. */
  mx: Lookup<Mx>
  /** A and AAAA of the MX hosts (or of the domain for an implicit MX), gathered only when the list has address entries. */
  addresses?: Array<{ host: string; lookup: Lookup<string> }>
}

// Node reports "the name exists but has no record of this type" as ENODATA;
// NXDOMAIN is ENOTFOUND.
const NO_DATA = new Set(['ENODATA', 'NODATA'])

export type Hosts = { kind: 'mx' | 'implicit'; names: string[] } | { kind: 'nothing'; why: string }

// The hosts that receive the domain's mail, by preference.
export function mailHosts(domain: string, mx: Lookup<Mx>): Hosts {
  switch (mx.status) {
    case 'error':
      return { kind: 'nothing', why: `MX lookup failed (${mx.code})` }
    case 'none':
      // RFC 5321 5.1: with no MX records the domain itself is the mail
      // host (implicit MX). NXDOMAIN: no such domain, no host.
      return NO_DATA.has(mx.code) ? { kind: 'implicit', names: [domain] } : { kind: 'nothing', why: `no such domain (${mx.code})` }
    case 'ok': {
      // RFC 7505 3: a null MX is one record whose exchange is the root
      // (Node gives ""); the domain accepts no mail. Beside other MX records
      // it is invalid and only skipped.
      const names = [...mx.values]
        .sort((x, y) => x.priority - y.priority)
        .map((m) => normalizeDomain(m.exchange))
        .filter((name) => name !== '')
      if (!names.length) return { kind: 'nothing', why: 'null MX' }
      return { kind: 'mx', names: [...new Set(names)] }
    }
  }
}

export interface SenderMxConfig {
  dns_error: 'defer' | 'accept'
}

/**
 * G14 when an MX host of the sender's domain, or one of its addresses, is on
 * the list; MX-TEMP when a lookup that could have matched failed and
 * dns_error=defer.
 */
export function senderMxCheck(facts: SenderMxFacts, list: MxBlocklist, cfg: SenderMxConfig = { dns_error: 'defer' }): Verdict | undefined {
  if (!list.size || !facts.domain) return undefined
  const temp = (reason: string): Verdict | undefined => (cfg.dns_error === 'defer' ? { id: 'MX-TEMP', vars: { email: facts.sender }, reason } : undefined)
  const hosts = mailHosts(normalizeDomain(facts.domain), facts.mx)
  if (hosts.kind === 'nothing') return facts.mx.status === 'error' ? temp(hosts.why) : undefined
  const g14 = (reason: string): Verdict => ({ id: 'G14', vars: { email: facts.sender }, reason })
  const label = (host: string): string => (hosts.kind === 'implicit' ? `${host} (implicit MX)` : host)
  for (const host of hosts.names) {
    const entry = list.matchHost(host)
    if (entry !== undefined) return g14(`MX host ${label(host)} matches ${entry}`)
  }
  // A failed address lookup leaves that host's addresses unknown: no match
  // among the others is then an answer only when none failed.
  let failed: string | undefined
  for (const { host, lookup } of facts.addresses ?? []) {
    if (lookup.status === 'error') failed ??= `address lookup of MX host ${label(host)} failed (${lookup.code})`
    if (lookup.status !== 'ok') continue
    for (const ip of lookup.values) {
      const entry = list.matchAddress(ip)
      if (entry !== undefined) return g14(`MX host ${label(host)} address ${ip} matches ${entry}`)
    }
  }
  return failed === undefined ? undefined : temp(failed)
}
