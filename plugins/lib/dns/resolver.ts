// The bundle's own DNS lookups, through [dns] servers with [dns] timeout
// bounding each lookup in total, retries included. Results keep "no such
// record" apart from "could not find out" (SERVFAIL, timeout, refused): a
// check must never read a DNS failure as an answer.
import { promises as dnsp } from 'node:dns'
import ipaddr from 'ipaddr.js'
import { AnswerCache } from './answer-cache'

export type Lookup<T> =
  | { status: 'ok'; values: T[] }
  /** NXDOMAIN or no record of the type. */
  | { status: 'none'; code: string }
  /** SERVFAIL, timeout, refused, or any other failure. */
  | { status: 'error'; code: string }

export interface Mx { exchange: string; priority: number }

export interface Dns {
  ptr(ip: string): Promise<Lookup<string>>
  a(name: string): Promise<Lookup<string>>
  aaaa(name: string): Promise<Lookup<string>>
  mx(name: string): Promise<Lookup<Mx>>
  txt(name: string): Promise<Lookup<string>>
}

const NONE = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA'])

/** The reverse-zone name of an IP: 4.3.2.1.in-addr.arpa, or ip6.arpa nibbles. */
export function ptrName(ip: string): string {
  let addr = ipaddr.parse(ip)
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address()
  const bytes = addr.toByteArray()
  if (addr.kind() === 'ipv4') return `${bytes.reverse().join('.')}.in-addr.arpa`
  const nibbles = bytes.flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)])
  return `${nibbles.reverse().join('.')}.ip6.arpa`
}

/**
 * A c-ares channel for each lookup, given the whole [dns] timeout. Node 24's
 * c-ares (1.34) times a query by the server's recent latency once it has
 * three answers (5 x the average, at least about 1 s), whatever timeout was
 * configured, so a channel shared by all lookups gave up on a 2.5 s answer
 * after a run of fast ones; a new channel has no history and waits the
 * configured time. maxTimeout because c-ares otherwise caps a try at 5 s.
 * One try: c-ares drops an answer that arrives after a try's own timeout, so
 * shorter tries retried would fail a server that is slow but within [dns]
 * timeout. Creating one costs about 0.1 ms, far below the lookup it serves.
 */
export function channels(servers: readonly string[], totalMs: number): () => dnsp.Resolver {
  // The system's servers read once, so a channel does not read resolv.conf each time.
  const list = servers.length ? [...servers] : new dnsp.Resolver().getServers()
  return () => {
    const resolver = new dnsp.Resolver({ timeout: totalMs, tries: 1, maxTimeout: totalMs })
    if (list.length) resolver.setServers(list)
    return resolver
  }
}

export function makeDns(servers: readonly string[], timeoutSec: number, cacheSec = 0): Dns {
  const totalMs = Math.max(50, Math.round(timeoutSec * 1000))
  // The race below holds the bound whatever c-ares does with its timers.
  const channel = channels(servers, totalMs)

  const cache = new AnswerCache<Lookup<unknown>>(cacheSec * 1000)

  // Answers (records, or none) are kept for cacheSec; failures are not.
  async function lookup<T>(key: string, query: () => Promise<T[]>): Promise<Lookup<T>> {
    const hit = cache.get(key) as Lookup<T> | undefined
    if (hit) return hit
    const answer = await ask(query)
    if (answer.status !== 'error') cache.set(key, answer)
    return answer
  }

  async function ask<T>(query: () => Promise<T[]>): Promise<Lookup<T>> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<Lookup<T>>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'error', code: 'ETIMEOUT' }), totalMs)
    })
    const answer = query().then(
      (values): Lookup<T> => (values.length ? { status: 'ok', values } : { status: 'none', code: 'ENODATA' }),
      (err: NodeJS.ErrnoException): Lookup<T> => {
        const code = err.code ?? 'EUNKNOWN'
        return NONE.has(code) ? { status: 'none', code } : { status: 'error', code }
      },
    )
    try {
      return await Promise.race([answer, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    ptr: (ip) => lookup(`ptr:${ip}`, () => channel().resolvePtr(ptrName(ip))),
    a: (name) => lookup(`a:${name.toLowerCase()}`, () => channel().resolve4(name)),
    aaaa: (name) => lookup(`aaaa:${name.toLowerCase()}`, () => channel().resolve6(name)),
    mx: (name) => lookup(`mx:${name.toLowerCase()}`, async () => (await channel().resolveMx(name)).map((m) => ({ exchange: m.exchange, priority: m.priority }))),
    txt: (name) => lookup(`txt:${name.toLowerCase()}`, async () => (await channel().resolveTxt(name)).map((chunks) => chunks.join(''))),
  }
}

const current = new Map<boolean, { signature: string; dns: Dns }>()

/**
 * One resolver per process for the current [dns] settings; `cached: false`
 * gives one that always asks (the DNS list self-tests must see the zone as
 * it is now).
 */
export function getDns(servers: readonly string[], timeoutSec: number, cacheSec: number, cached = true): Dns {
  const signature = JSON.stringify([servers, timeoutSec, cached ? cacheSec : 0])
  const c = current.get(cached)
  if (c?.signature === signature) return c.dns
  const dns = makeDns(servers, timeoutSec, cached ? cacheSec : 0)
  current.set(cached, { signature, dns })
  return dns
}
