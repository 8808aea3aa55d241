// The checks' view of the DNS front-end (front-end.ts): ptr, a, aaaa, mx and
// txt, each a Lookup that keeps "no such record" apart from "could not find
// out", on the same answers and cache as the resolver handed to mailauth.
import ipaddr from 'ipaddr.js'
import { FrontEnd, Kept, TimedAnswer, keyOf } from './front-end'
import { Lookup, Mx, NO_RECORD } from './lookup'

export type { Lookup, Mx } from './lookup'
export { channels } from './front-end'

export interface Dns {
  ptr(ip: string): Promise<Lookup<string>>
  a(name: string): Promise<Lookup<string>>
  aaaa(name: string): Promise<Lookup<string>>
  mx(name: string): Promise<Lookup<Mx>>
  txt(name: string): Promise<Lookup<string>>
}

/** The reverse-zone name of an IP: 4.3.2.1.in-addr.arpa, or ip6.arpa nibbles. */
export function ptrName(ip: string): string {
  let addr = ipaddr.parse(ip)
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address()
  const bytes = addr.toByteArray()
  if (addr.kind() === 'ipv4') return `${bytes.reverse().join('.')}.in-addr.arpa`
  const nibbles = bytes.flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)])
  return `${nibbles.reverse().join('.')}.ip6.arpa`
}

// node:dns gives each type in its own shape; a check reads these. Each makes
// a new list, so the kept answer stays as node:dns gave it.
type Read<T> = (value: unknown) => T[]
const names: Read<string> = (value) => (value as string[]).slice()
const mxs: Read<Mx> = (value) => (value as Mx[]).map((m) => ({ exchange: m.exchange, priority: m.priority }))
const texts: Read<string> = (value) => (value as string[][]).map((chunks) => chunks.join(''))

function records<T>(value: unknown, read: Read<T>): Lookup<T> {
  const values = read(value)
  return values.length ? { status: 'ok', values } : { status: 'none', code: 'ENODATA' }
}

function fromKept<T>(kept: Kept, read: Read<T>): Lookup<T> {
  return 'value' in kept ? records(kept.value, read) : { status: 'none', code: kept.code }
}

function fromAnswer<T>(answer: TimedAnswer, read: Read<T>): Lookup<T> {
  if (!answer.error) return records(answer.value, read)
  const code = answer.error.code ?? 'EUNKNOWN'
  return NO_RECORD.has(code) ? { status: 'none', code } : { status: 'error', code }
}

// A hit is read once into a Lookup, kept with the answer: a repeat costs a map lookup.
function readHit<T>(hit: { value: Kept }, read: Read<T>): Lookup<T> {
  return (hit.value.lookup ??= fromKept(hit.value, read)) as Lookup<T>
}

/** The checks' view of this front-end and its cache. */
export function dnsView(frontEnd: FrontEnd): Dns {
  async function lookup<T>(name: string, rrtype: string, key: string, read: Read<T>): Promise<Lookup<T>> {
    const hit = frontEnd.kept(key)
    if (hit) return readHit(hit, read)
    return fromAnswer(await frontEnd.ask(name, rrtype, key), read)
  }
  return {
    // Kept by address: a hit then builds no reverse name (about 2 us for IPv4, 9 us for IPv6).
    ptr: async (ip) => {
      const key = `ptr:${ip}`
      const hit = frontEnd.kept(key)
      if (hit) return readHit(hit, names)
      return fromAnswer(await frontEnd.ask(ptrName(ip), 'PTR', key), names)
    },
    a: (name) => lookup(name, 'A', keyOf(name, 'A'), names),
    aaaa: (name) => lookup(name, 'AAAA', keyOf(name, 'AAAA'), names),
    mx: (name) => lookup(name, 'MX', keyOf(name, 'MX'), mxs),
    txt: (name) => lookup(name, 'TXT', keyOf(name, 'TXT'), texts),
  }
}

/** A resolver of its own, with a cache of its own (cacheSec 0: none). */
export function makeDns(servers: readonly string[], timeoutSec: number, cacheSec = 0): Dns {
  return dnsView(new FrontEnd(servers, timeoutSec, cacheSec))
}
