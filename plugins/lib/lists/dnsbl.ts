// DNS lists (G31, G32): the zones an operator configures, the meaning of a
// zone's answers, and the check. The query name comes from
// haraka-plugin-dns-list (ipQuery); the lookup itself goes through the
// bundle's resolver, since that plugin's resolver can be given neither
// [dns] servers nor [dns] timeout, and its verdict carries neither the
// answer nor the zone's support code that the catalog's line needs.
import { ipQuery } from 'haraka-plugin-dns-list'
import ipaddr from 'ipaddr.js'
import { Lookup } from '../dns/resolver'
import { netList, NetList } from '../config/netlist'

export interface ZoneConfig {
  /** The section name in support-codes-rcpt.ini. */
  name: string
  zone: string
  code: 'G31' | 'G32'
  listed: NetList
  /** Query IPv6 clients too (nibble format); only for zones that list IPv6. */
  ipv6: boolean
}

const LOOPBACK = netList(['127.0.0.0/8'])
// RFC 5782 2.1 reserves 127.0.0.0/8 for answers; lists such as Spamhaus
// answer 127.255.255.0/24 for errors ("query refused", "over quota").
const ERROR_ANSWERS = netList(['127.255.255.0/24'])

const ZONE_KEYS = new Set(['zone', 'code', 'listed', 'ipv6'])

/** Reads the zone sections named in [dnsbl] zones; bad ones are reported and left out. */
export function zoneConfigs(names: readonly string[], sections: Record<string, Record<string, unknown> | undefined>): { zones: ZoneConfig[]; problems: string[] } {
  const zones: ZoneConfig[] = []
  const problems: string[] = []
  for (const name of names) {
    const sec = sections[name]
    if (!sec) {
      problems.push(`[dnsbl] zones names "${name}", but there is no [${name}] section; zone skipped`)
      continue
    }
    const zone = String(sec.zone ?? '').trim().replace(/\.$/, '').toLowerCase()
    const code = String(sec.code ?? '').trim().toUpperCase()
    const listedText = (Array.isArray(sec.listed) ? sec.listed.join(',') : String(sec.listed ?? '')).split(',').map((s) => s.trim()).filter(Boolean)
    const listed = netList(listedText)
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(zone)) {
      problems.push(`[${name}] zone=${String(sec.zone)} is not a DNS zone name; zone skipped`)
      continue
    }
    if (code !== 'G31' && code !== 'G32') {
      problems.push(`[${name}] code=${String(sec.code)} is not G31 or G32; zone skipped`)
      continue
    }
    if (listed.invalid.length || !listed.size) {
      problems.push(`[${name}] listed=${listedText.join(',')} needs IP addresses or CIDRs; zone skipped`)
      continue
    }
    const ipv6 = /^(true|yes|on|1)$/i.test(String(sec.ipv6 ?? 'false'))
    for (const key of Object.keys(sec)) {
      if (!ZONE_KEYS.has(key)) problems.push(`[${name}] ${key} is not a known key; ignored`)
    }
    zones.push({ name, zone, code, listed, ipv6 })
  }
  return { zones, problems }
}

// Addresses no public list can list (RFC 1918, loopback, link-local, ULA):
// asking about them only tells the list about the network inside.
const UNLISTABLE = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'unspecified'])

export function isUnlistable(ip: string): boolean {
  try {
    return UNLISTABLE.has(ipaddr.process(ip).range())
  } catch {
    return true
  }
}

/** The query name for a client IP in a zone, or undefined when the zone is not asked (IPv6 off). */
export function queryName(ip: string, zone: ZoneConfig): string | undefined {
  const v6 = ip.includes(':') && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip)
  if (v6 && !zone.ipv6) return undefined
  return ipQuery(ip, zone.zone).replace(/\.$/, '')
}

export type AnswerMeaning =
  | { kind: 'not-listed' }
  /** Listed: the lowest answer inside the zone's `listed`. */
  | { kind: 'listed'; result: string }
  /** Answers in 127/8 that `listed` does not name: logged, never refused. */
  | { kind: 'other'; answers: string[] }
  /** Answers that say the zone is broken or refuses us: outside 127/8, or in 127.255.255.0/24. */
  | { kind: 'error'; why: string }

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

export function answerMeaning(lookup: Lookup<string>, zone: ZoneConfig): AnswerMeaning {
  if (lookup.status === 'none') return { kind: 'not-listed' }
  if (lookup.status === 'error') return { kind: 'error', why: `lookup failed (${lookup.code})` }
  const outside = lookup.values.filter((a) => !LOOPBACK.has(a))
  if (outside.length) return { kind: 'error', why: `answered ${outside.join(',')}, outside 127.0.0.0/8` }
  const errors = lookup.values.filter((a) => ERROR_ANSWERS.has(a))
  if (errors.length) return { kind: 'error', why: `answered ${errors.join(',')}, an error code` }
  const listed = lookup.values.filter((a) => zone.listed.has(a)).sort((a, b) => ipNumber(a) - ipNumber(b))
  if (listed.length) return { kind: 'listed', result: listed[0] }
  return { kind: 'other', answers: lookup.values }
}

export interface ZoneResult {
  zone: ZoneConfig
  meaning: AnswerMeaning
}
