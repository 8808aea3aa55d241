// The realistic case's traffic: many client IPs and sender domains, drawn
// with a Zipf distribution (a few big senders, a long tail), instead of one
// client and one sender. The same seed gives the same sessions, so the two
// nodes of a round get the same mail.
//
// Every client and sender is known in advance, and so is what the bundle
// (default settings) answers it: a client listed on a DNS list is refused
// at RCPT TO (G31 or G32), a client without a PTR record is deferred at
// MAIL FROM (G1F), every other session is accepted. Bare Haraka accepts all.
import { mulberry32 } from '../rig/prng'
import { ptrName, reverseName, Zone } from '../rig/dns-server'

/** Distinct client IPs and sender domains. */
export const CLIENTS = 1000
export const DOMAINS = 1000
/** Zipf exponent: rank r is drawn with weight 1 / r^S. */
export const ZIPF_S = 1

export const RECIPIENT = 'bob@example.com'

export type Outcome = 'accepted' | 'refused' | 'deferred'

export interface MixClient {
  ip: string
  /** Its PTR name (also its HELO name), when it has one. */
  ptr?: string
  /** The DNS list zone that lists it, and the answer. */
  listedIn?: { zone: string; answer: string }
  /** What the bundle answers its sessions. */
  outcome: Outcome
}

// By rank (0 = the busiest client): every 10th from rank 3 on is listed,
// alternately on the first and the second DNS list; every 20th from rank 7 on
// has no PTR. The two sets do not meet (3 and 7 differ modulo 10).
export function isListed(rank: number): boolean {
  return rank % 10 === 3
}
export function lacksPtr(rank: number): boolean {
  return rank % 20 === 7
}

/** Client IP of a rank: 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks (public, so the DNS lists are asked). */
export function clientIp(rank: number): string {
  return `198.18.${1 + Math.floor(rank / 250)}.${1 + (rank % 250)}`
}

export function senderDomain(rank: number): string {
  return `sender${rank + 1}.example`
}

/** The clients, by rank; lists are [zone, listed answer] in [dnsbl] zones order. */
export function mixClients(lists: Array<[string, string]>): MixClient[] {
  const out: MixClient[] = []
  for (let rank = 0; rank < CLIENTS; rank++) {
    const ip = clientIp(rank)
    const listed = isListed(rank) && lists.length ? lists[Math.floor(rank / 10) % lists.length] : undefined
    const noPtr = lacksPtr(rank)
    out.push({
      ip,
      ptr: noPtr ? undefined : `mail${rank + 1}.client${(rank % 50) + 1}.example`,
      listedIn: listed ? { zone: listed[0], answer: listed[1] } : undefined,
      outcome: noPtr ? 'deferred' : listed ? 'refused' : 'accepted',
    })
  }
  return out
}

/** Cumulative Zipf weights of n ranks, normalized to end at 1. */
export function zipfCdf(n: number, s = ZIPF_S): Float64Array {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let r = 0; r < n; r++) {
    sum += 1 / Math.pow(r + 1, s)
    cdf[r] = sum
  }
  for (let r = 0; r < n; r++) cdf[r] /= sum
  return cdf
}

/** The rank a uniform draw u in [0, 1) falls on (binary search). */
export function rankOf(cdf: Float64Array, u: number): number {
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid] > u) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** What one session is: its client rank and sender domain rank. */
export interface Draw {
  client: number
  domain: number
}

/** A seeded stream of sessions: client and sender drawn independently, each Zipf. */
export function draws(seed: number): () => Draw {
  const rnd = mulberry32(seed)
  const clients = zipfCdf(CLIENTS)
  const domains = zipfCdf(DOMAINS)
  return () => ({ client: rankOf(clients, rnd()), domain: rankOf(domains, rnd()) })
}

/** The share of sessions with each outcome the design gives (exact, from the weights). */
export function designedShares(clients: MixClient[]): Record<Outcome, number> {
  const cdf = zipfCdf(clients.length)
  const out: Record<Outcome, number> = { accepted: 0, refused: 0, deferred: 0 }
  for (let r = 0; r < clients.length; r++) out[clients[r].outcome] += cdf[r] - (r ? cdf[r - 1] : 0)
  return out
}

/**
 * What the bench DNS server answers for the mix: each sender domain's MX
 * (one host per domain, with an address), SPF covering every client (so SPF
 * passes) and a DMARC policy of p=reject (so DMARC passes, aligned with the
 * envelope sender through SPF); each client's PTR and the PTR name's address,
 * but for the clients meant to have none; the listed clients' DNS list
 * entries. Everything else is NXDOMAIN from the same server.
 */
export function mixZone(clients: MixClient[]): Zone {
  const zone: Zone = {}
  for (let d = 0; d < DOMAINS; d++) {
    const domain = senderDomain(d)
    zone[domain] = [
      { type: 'MX', data: { preference: 10, exchange: `mx.${domain}` } },
      { type: 'TXT', data: 'v=spf1 ip4:198.18.0.0/15 -all' },
    ]
    zone[`mx.${domain}`] = [{ type: 'A', data: `198.19.${1 + Math.floor(d / 250)}.${1 + (d % 250)}` }]
    zone[`_dmarc.${domain}`] = [{ type: 'TXT', data: `v=DMARC1; p=reject; rua=mailto:dmarc@${domain}` }]
  }
  for (const c of clients) {
    if (c.ptr) {
      zone[ptrName(c.ip)] = [{ type: 'PTR', data: c.ptr }]
      zone[c.ptr] = [{ type: 'A', data: c.ip }]
    }
    if (c.listedIn) zone[reverseName(c.ip, c.listedIn.zone)] = [{ type: 'A', data: c.listedIn.answer }]
  }
  return zone
}
