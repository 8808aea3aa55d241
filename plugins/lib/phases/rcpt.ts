// The rcpt plugin's checks at RCPT TO, in order: G31/G32 (DNS lists), G28
// (new or untrusted IP), G14 (sender's MX), G8/G9 (directory), G6/G7 (live
// callout), GE (sender blocked by the recipient), G30 (mailbox rate); and
// the lookups that gather G14's facts (gatherSenderMx), as connect.ts
// gathers G1F's.
import { Callout, CalloutAnswer, calloutTargets } from '../callout/callout'
import { cachedCallout, calloutCheck } from '../checks/callout'
import { mailboxRate } from '../checks/mailbox-rate'
import { newIpCheck, NewIpFacts } from '../checks/new-ip'
import { mailHosts, senderMxCheck, SenderMxFacts } from '../checks/sender-mx'
import { normalizeDomain } from '../lists/list-file'
import { Dns } from '../dns/resolver'
import { answerMeaning, queryName, ZoneConfig, ZoneResult } from '../lists/dnsbl'
import { dnsblCheck } from '../checks/dnsbl'
import { clientKey } from '../config/netlist'
import { recipientCheck } from '../checks/recipients'
import { Verdict } from '../codes/render'
import { senderBlockCheck } from '../checks/sender-blocks'
import { CounterStore } from '../store/types'
import { tag } from '../store/keys'
import { RcptLists, RcptSettings } from './rcpt-lists'
import { PhaseRun } from './run'

export { rcptLists } from './rcpt-lists'
export type { RcptLists, RcptSettings } from './rcpt-lists'

/** [store] ipv6_prefix when none is given (the setting's default). */
export const DEFAULT_IPV6_PREFIX = 64

/**
 * Counter keys (rate-window prefixes) of the rcpt checks. G28 counts per
 * client: an IPv6 client per network of ipv6Prefix bits (config/netlist.ts
 * clientKey). A client's G28 counters share one hash tag, so that they are
 * read together in one call, on one node of a cluster (store/keys.ts).
 */
export const keys = {
  firstSeen: (ip: string, ipv6Prefix = DEFAULT_IPV6_PREFIX): string => `sc:ip:${tag(clientKey(ip, ipv6Prefix))}:first`,
  ipAccepted: (ip: string, ipv6Prefix = DEFAULT_IPV6_PREFIX): string => `sc:ip:${tag(clientKey(ip, ipv6Prefix))}:accepted`,
  ipRcptOk: (ip: string, ipv6Prefix = DEFAULT_IPV6_PREFIX): string => `sc:ip:${tag(clientKey(ip, ipv6Prefix))}:rcpt-ok`,
  ipRcptRefused: (ip: string, ipv6Prefix = DEFAULT_IPV6_PREFIX): string => `sc:ip:${tag(clientKey(ip, ipv6Prefix))}:rcpt-refused`,
  mailbox: (address: string): string => `sc:rate:rcpt:${tag(address.toLowerCase())}`,
}

/** Every zone's answer for the client IP, in [dnsbl] zones order. */
export async function lookupZones(dns: Dns, ip: string, zones: readonly ZoneConfig[], seen?: (r: ZoneResult) => void): Promise<ZoneResult[]> {
  const results = await Promise.all(zones.map(async (zone): Promise<ZoneResult | undefined> => {
    const name = queryName(ip, zone)
    if (!name) return undefined
    const r = { zone, meaning: answerMeaning(await dns.a(name), zone) }
    seen?.(r)
    return r
  }))
  return results.filter((x): x is ZoneResult => x !== undefined)
}

export interface RcptFacts {
  /** The client's address, as the replies name it. */
  ip: string
  /** [store] ipv6_prefix: G28 counts an IPv6 client per network of this many bits. */
  ipv6Prefix?: number
  /** The envelope sender; '' for the null sender. */
  sender: string
  address: string
  /** The recipient's domain, lower case. */
  domain: string
  /** Undefined when no zone was asked (none configured, a private IP, a skipped client). */
  dnsbl?: Promise<ZoneResult[]>
  /** Seconds since the IP was first seen, or undefined when the store could not say. */
  ipAge: () => Promise<number | undefined>
  /** A rate-window count by key prefix; undefined when the store could not say. */
  recent: (key: string, periodSec: number) => Promise<number | undefined>
  /** Undefined when the sender's MX was not looked up. */
  senderMx?: Promise<SenderMxFacts | undefined>
  callout: (domain: string, address: string) => Promise<{ answer: CalloutAnswer; cached: boolean }>
}

/**
 * The recipient's server's answer about an address: from the cache in the
 * store, or a callout to the route or MX hosts of its domain.
 */
export function calloutVia(store: CounterStore, own: RcptSettings, lists: RcptLists, dns: Dns, callout: Callout, client?: string): RcptFacts['callout'] {
  return (domain, address) => cachedCallout(store, address, own.callout.cache_ttl, own.callout.negative_ttl, async () => {
    const { targets, why } = await calloutTargets(domain, lists.routes, dns)
    if (!targets.length) return { result: 'tempfail', reply: why ?? 'no server to call' }
    return callout.verifyAny(targets, address, client)
  })
}

function describeZones(results: readonly ZoneResult[]): string {
  if (!results.length) return 'no zone asked'
  return results.map(({ zone, meaning: m }) => `${zone.zone}: ${m.kind === 'listed' ? `listed (${m.result})` : m.kind === 'error' ? m.why : m.kind === 'other' ? `answered ${m.answers.join(',')}` : 'not listed'}`).join('; ')
}

function describeMx(f: SenderMxFacts): string {
  const mx = f.mx.status === 'ok' ? f.mx.values.map((m) => m.exchange || '.').join(', ') : `${f.mx.status} (${f.mx.code})`
  return `MX of ${f.domain}: ${mx}`
}

export async function rcptPhase(run: PhaseRun, own: RcptSettings, lists: RcptLists, f: RcptFacts): Promise<void> {
  const { address, domain } = f

  // G31, G32
  if (f.dnsbl) {
    const results = await f.dnsbl
    if (run.judge('dnsbl', dnsblCheck({ ip: f.ip, results }), describeZones(results))) return
  }

  // G28
  if (own.new_ip.limit > 0) {
    const period = own.new_ip.period
    const prefix = f.ipv6Prefix ?? DEFAULT_IPV6_PREFIX
    const [age, accepted, rcptOk, rcptRefused] = await Promise.all([
      f.ipAge(), f.recent(keys.ipAccepted(f.ip, prefix), period), f.recent(keys.ipRcptOk(f.ip, prefix), period), f.recent(keys.ipRcptRefused(f.ip, prefix), period),
    ])
    const facts: NewIpFacts = { age, accepted, rcptOk, rcptRefused }
    const n = (v: number | undefined): string => (v === undefined ? '?' : String(Math.floor(v)))
    const saw = `first seen ${n(age)} s ago; in the last ${period} s: ${n(accepted)} message(s) accepted, recipients ${n(rcptOk)} accepted / ${n(rcptRefused)} refused; limit ${own.new_ip.limit}`
    // Without the count of messages accepted the check cannot decide (the store did not answer).
    if (accepted === undefined) run.undecided('new_ip', saw)
    else if (run.judge('new_ip', newIpCheck(facts, own.new_ip), saw)) return
  }

  // G14
  if (f.senderMx) {
    const facts = await f.senderMx
    const strict = facts && own.sender_mx.dns_error === 'accept' ? () => senderMxCheck(facts, lists.mxList) : undefined
    if (facts && run.judgeLenient('sender_mx', senderMxCheck(facts, lists.mxList, own.sender_mx), strict, describeMx(facts))) return
    if (!facts) run.pass('sender_mx', 'MX lookup did not finish')
  }

  // G8/G9 from the directory; with at=data the refusal waits for DATA,
  // held under the check that gave it, whose settings decide it then
  // (phases/session.ts). True when the recipient's checks end here.
  const unknown = (verdict: Verdict, saw: string, check: string): boolean => {
    if (own.recipients.at === 'data') {
      run.hold(check, verdict, saw)
      return true
    }
    return run.fire(check, verdict, saw)
  }
  const inDirectory = recipientCheck({ rcpt: address, domain }, own.recipients, lists.directory)
  if (inDirectory) {
    unknown(inDirectory, `${address} is not in support-codes.recipients`, 'recipients')
    return
  }
  if (own.recipients.domains.length) run.pass('recipients', own.recipients.domains.includes(domain) ? `${address} is in support-codes.recipients` : `${domain} is not a checked domain`)

  // G6, G7 (and G8/G9 when the recipient's server says the user is unknown)
  if (own.callout.enabled && lists.calloutDomains.has(domain)) {
    const { answer, cached } = await f.callout(domain, address)
    const saw = `callout ${address}: ${answer.result}${cached ? ' (cached)' : ''}: ${answer.reply}`
    run.note({ msg: saw })
    const verdict = calloutCheck({ rcpt: address, answer })
    if (verdict?.id === 'G8/G9') {
      if (unknown(verdict, saw, 'callout')) return
    } else if (run.judge('callout', verdict, saw)) return
  }

  // GE
  if (own.sender_blocks.enabled && f.sender) {
    const verdict = senderBlockCheck({ rcpt: address, sender: f.sender }, lists.blocks)
    if (run.judge('sender_blocks', verdict, verdict ? `${address} blocks ${f.sender}` : `${address} does not block ${f.sender}`)) return
  }

  // G30
  if (own.mailbox_rate.limit > 0) {
    const recent = await f.recent(keys.mailbox(address), own.mailbox_rate.period)
    const saw = `${recent === undefined ? '?' : Math.floor(recent)} message(s) accepted for ${address} in the last ${own.mailbox_rate.period} s, limit ${own.mailbox_rate.limit}`
    if (recent === undefined) run.undecided('mailbox_rate', saw)
    else run.judge('mailbox_rate', mailboxRate({ recent }, own.mailbox_rate), saw)
  }
}

/**
 * Looks up the sender domain's MX and, when the list has address entries,
 * the A and AAAA records of the first maxHosts MX hosts by preference, all in
 * parallel. The cap keeps a domain with hundreds of MX records from costing
 * hundreds of lookups; names are still matched on every MX record, which
 * costs nothing. CNAMEs (on the domain or an MX host) are followed by the
 * resolver.
 */
export async function gatherSenderMx(domain: string, sender: string, dns: Dns, needAddresses: boolean, maxHosts = 10): Promise<SenderMxFacts> {
  const name = normalizeDomain(domain)
  // The null sender has no domain to look up.
  if (!name) return { sender, domain: name, mx: { status: 'none', code: 'ENOTFOUND' } }
  const mx = await dns.mx(name)
  const facts: SenderMxFacts = { sender, domain: name, mx }
  if (!needAddresses) return facts
  const hosts = mailHosts(name, mx)
  if (hosts.kind === 'nothing') return facts
  const looked = hosts.names.slice(0, Math.max(0, maxHosts))
  facts.addresses = await Promise.all(
    looked.flatMap((host) => [
      dns.a(host).then((lookup) => ({ host, lookup })),
      dns.aaaa(host).then((lookup) => ({ host, lookup })),
    ]),
  )
  return facts
}
