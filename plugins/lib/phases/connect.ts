// The connect plugin's checks: G2 at connect, G1F at MAIL FROM (Haraka can
// only answer 421 or 554 to a new connection, so the PTR verdict waits).
import ipaddr from 'ipaddr.js'
import { concurrency } from '../checks/concurrency'
import { PtrFacts, ptrCheck } from '../checks/ptr'
import { Dns, Lookup } from '../dns/resolver'
import { clientKey } from '../config/netlist'
import { SettingsOf } from '../config/schema'
import { PhaseRun } from './run'
import { tag } from '../store/keys'

export type ConnectSettings = SettingsOf<'support-codes-connect.ini'>

/** PTR names checked for forward confirmation. */
const MAX_PTR_NAMES = 5

export function canonicalIp(ip: string): string {
  try {
    return ipaddr.process(ip).toString()
  } catch {
    return ip
  }
}

/** G2's counter: per client IP, an IPv6 client per network of [store] ipv6_prefix bits. */
export function concurrencyKey(ip: string, ipv6Prefix: number): string {
  return `sc:conc:${tag(clientKey(ip, ipv6Prefix))}`
}

/** The PTR facts G1F needs: the lookup and, with fcrdns, whether a name resolves back. */
export async function gatherPtr(dns: Dns, ip: string, lookup: Promise<Lookup<string>>, fcrdns: boolean): Promise<PtrFacts> {
  const ptr = await lookup
  if (!fcrdns || ptr.status !== 'ok') return { ip, ptr }
  const v6 = ip.includes(':')
  const answers = await Promise.all(ptr.values.slice(0, MAX_PTR_NAMES).map((name) => (v6 ? dns.aaaa(name) : dns.a(name))))
  const want = canonicalIp(ip)
  if (answers.some((a) => a.status === 'ok' && a.values.some((v) => canonicalIp(v) === want))) return { ip, ptr, forward: 'match' }
  if (answers.some((a) => a.status === 'error')) return { ip, ptr, forward: 'error' }
  return { ip, ptr, forward: 'nomatch' }
}

/** G2. connections: open from this IP, this one included; undefined when not known. */
export function connectPhase(run: PhaseRun, own: ConnectSettings, connections: number | undefined): void {
  if (own.concurrency.max <= 0 || connections === undefined) return
  const verdict = concurrency({ connections }, own.concurrency)
  run.judge('concurrency', verdict, `${connections} connection(s) open from this IP, max ${own.concurrency.max}`)
}

function describePtr(f: PtrFacts): string {
  const p = f.ptr
  const ptr = p.status === 'ok' ? `PTR ${p.values.join(', ')}` : p.status === 'none' ? `no PTR (${p.code})` : `PTR lookup failed (${p.code})`
  return f.forward ? `${ptr}; forward confirmation: ${f.forward}` : ptr
}

/** G1F, decided at MAIL FROM. */
export function ptrPhase(run: PhaseRun, own: ConnectSettings, facts: PtrFacts): void {
  if (!own.ptr.enabled) return
  const strict = own.ptr.dns_error === 'accept' ? () => ptrCheck(facts, { ...own.ptr, dns_error: 'defer' }) : undefined
  run.judgeLenient('ptr', ptrCheck(facts, own.ptr), strict, describePtr(facts))
}
