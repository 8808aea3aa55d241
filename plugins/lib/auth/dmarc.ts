// DMARC for each Author Domain with mailauth's dmarc(), fed the SPF and DKIM
// results already known (so SPF, whoever computed it, is never run again),
// then the strictest outcome over the domains.
//
// mailauth 7 follows RFC 9989, which obsoletes RFC 7489: the policy is p for
// the domain's own record, sp (or np for a domain that does not exist) for a
// record inherited from the organizational domain (RFC 7489 6.3, 6.6.3;
// RFC 9989 4.10.1), one level lower with t=y; the organizational domain is
// found by the DNS Tree Walk (RFC 9989 4.10) rather than a public suffix list
// (RFC 7489 3.2); alignment is relaxed or strict per adkim/aspf (RFC 7489
// 3.1.1, 3.1.2). pct is historic in RFC 9989 and mailauth ignores it: a
// p=reject record is applied to every message whatever its pct (RFC 7489
// 6.6.4 sampling is not done).
import { createRequire } from 'node:module'
import { DNSResolver, dmarc as mailauthDmarc } from 'mailauth'
import { DmarcOutcome, DmarcPolicy, DmarcResult } from './facts'
import { AnswerCache } from '../dns/answer-cache'
import { MessageResolver, ResolverFn } from '../dns/mailauth'

// mailauth's own policy discovery (RFC 9989 4.10 Tree Walk), loaded through
// its resolution so the walk asks exactly what its dmarc() will ask.
const fromMailauth = createRequire(require.resolve('mailauth'))
const { createRecordLookup, discoverPolicy } = fromMailauth('mailauth/lib/dmarc/get-dmarc-record') as {
  createRecordLookup(resolver: ResolverFn): (name: string) => Promise<unknown>
  discoverPolicy(domain: string, lookup: (name: string) => Promise<unknown>): Promise<unknown>
}
// The name its dmarc() queries for an Author Domain: an A-label, no root dot.
const { formatDomain, toALabel } = fromMailauth('mailauth/lib/tools') as { formatDomain(d: string): string; toALabel(d: string): string }

/**
 * Starts the policy lookups of an Author Domain at once, beside SPF and
 * DKIM: their answers stay in the message's resolver, where the evaluation
 * after SPF and DKIM finds them, so a slow SPF cannot use up the time of the
 * policy lookups. The first query of each domain is sent before anything
 * else waits (calls in From order).
 */
export function prefetchPolicy(fromDomain: string, resolver: ResolverFn): void {
  Promise.resolve()
    .then(() => discoverPolicy(formatDomain(toALabel(fromDomain.toLowerCase())), createRecordLookup(resolver)))
    .catch(() => undefined)
}

/**
 * Whether an identifier could align with the Author Domain under any
 * alignment mode: relaxed alignment (RFC 7489 3.1; RFC 9989 4.10.2) needs it
 * at or below the Organizational Domain the policy lookup found (`orgDomain`),
 * strict needs the Author Domain itself. An identifier that cannot align
 * decides nothing whatever its result.
 */
export function couldAlign(identifier: string, fromDomain: string, orgDomain: string | undefined): boolean {
  const d = identifier.toLowerCase().replace(/\.$/, '')
  const from = fromDomain.toLowerCase()
  const org = (orgDomain ?? from).toLowerCase()
  return d === from || d === org || d.endsWith(`.${org}`)
}

/** What DMARC is fed: the identifiers that passed, and those whose check failed temporarily. */
export interface Identifiers {
  /** RFC 7489 4.1: the SPF-authenticated MAIL FROM domain (HELO for the null sender, RFC 7208 2.4), when SPF passed. */
  spfPass: string[]
  /** The SPF domain when SPF gave temperror. */
  spfTemp: string[]
  /** d= of the DKIM signatures that verified (RFC 6376 3.5). */
  dkimPass: Array<{ domain: string; id?: string; underSized?: number }>
  /** d= of the signatures whose key lookup failed temporarily. */
  dkimTemp: string[]
}

const RESULTS: ReadonlySet<string> = new Set<DmarcResult>(['pass', 'fail', 'none', 'temperror', 'permerror'])
const POLICIES: ReadonlySet<string> = new Set<DmarcPolicy>(['reject', 'quarantine', 'none'])

type Answer = Awaited<ReturnType<typeof mailauthDmarc>>

/** Answers kept across messages, each only as long as the DNS answers it was built on (see dns/message-resolver.ts). */
export type DmarcCache = AnswerCache<Answer>

async function ask(fromDomain: string, spfDomains: string[], dkimDomains: Identifiers['dkimPass'], resolver: ResolverFn, cache?: DmarcCache): Promise<Answer> {
  // A bare domain as headerFrom is mailauth's documented input; the address
  // was already reduced to its domain (see from.ts).
  const tracked = cache && 'track' in resolver ? (resolver as MessageResolver).track() : undefined
  if (!cache || !tracked) return mailauthDmarc({ headerFrom: fromDomain, spfDomains, dkimDomains, resolver: resolver as DNSResolver })
  // The same question on the same answers gets the same answer.
  const key = JSON.stringify([fromDomain, spfDomains, dkimDomains])
  const hit = cache.entry(key)
  if (hit) return hit.value
  const answer = await mailauthDmarc({ headerFrom: fromDomain, spfDomains, dkimDomains, resolver: tracked as DNSResolver })
  if (!answer || answer.status?.result !== 'temperror') {
    const until = tracked.validUntil()
    cache.set(key, answer, until)
    // Marks the domain's policy as known for as long: see policyKnown().
    cache.set(policyKey(fromDomain), answer, until)
  }
  return answer
}

function policyKey(fromDomain: string): string {
  return `policy ${fromDomain}`
}

/**
 * Whether the domain's policy was found on DNS answers still kept: its
 * lookups then cost nothing, and starting them early (prefetchPolicy) would
 * only walk mailauth's policy discovery again for every message of a
 * repeat sender.
 */
export function policyKnown(fromDomain: string, cache: DmarcCache | undefined): boolean {
  return cache?.entry(policyKey(fromDomain)) !== undefined
}

function outcomeOf(answer: Answer, fromDomain: string, address: string): DmarcOutcome {
  if (!answer) return { result: 'none', fromDomain, address, reason: 'mailauth found no Author Domain in it' }
  const raw = String(answer.status?.result ?? '')
  const out: DmarcOutcome = { result: RESULTS.has(raw) ? (raw as DmarcResult) : 'none', fromDomain, address }
  if (POLICIES.has(answer.policy)) out.policy = answer.policy as DmarcPolicy
  const domain = answer.policyDomain ?? answer.domain
  if (domain) out.domain = domain
  if (answer.alignment) out.alignment = { spf: !!answer.alignment.spf?.result, dkim: !!answer.alignment.dkim?.result }
  const error = (answer as { error?: unknown }).error
  const reason = [answer.status?.comment, typeof error === 'string' ? error : undefined].filter(Boolean).join('; ')
  if (reason) out.reason = reason
  return out
}

/** The DMARC outcome for one Author Domain. */
export async function evaluateDomain(fromDomain: string, address: string, ids: Identifiers, resolver: ResolverFn, cache?: DmarcCache): Promise<DmarcOutcome> {
  const answer = await ask(fromDomain, ids.spfPass, ids.dkimPass, resolver, cache)
  const out = outcomeOf(answer, fromDomain, address)
  // mailauth's "domain": the Organizational Domain (the Author Domain when none was found).
  const orgDomain = answer && typeof answer.domain === 'string' ? answer.domain : undefined
  // A fail is only a fail if nothing that might have aligned is unknown:
  // SPF temperror (RFC 7208 2.6.6: "a later retry may succeed") or a key
  // lookup that failed (RFC 6376 6.1.2: TEMPFAIL). An identifier that cannot
  // align with this Author Domain (another organization's MAIL FROM domain
  // or d=, say a sender's own slow SPF) changes nothing and is left out, so
  // a sender cannot turn a reject into a deferral with it. The rest are
  // asked again as if they had passed; if DMARC would then not fail, this
  // fail is uncertain. Only a reject depends on it, so only then is the
  // question asked.
  if (out.result !== 'fail' || out.policy !== 'reject') return out
  const spfTemp = ids.spfTemp.filter((d) => couldAlign(d, fromDomain, orgDomain))
  const dkimTemp = ids.dkimTemp.filter((d) => couldAlign(d, fromDomain, orgDomain))
  if (!spfTemp.length && !dkimTemp.length) return out
  const spfDomains = [...ids.spfPass, ...spfTemp]
  const dkimDomains = [...ids.dkimPass, ...dkimTemp.map((domain) => ({ domain }))]
  const hypothetical = outcomeOf(await ask(fromDomain, spfDomains, dkimDomains, resolver, cache), fromDomain, address)
  if (hypothetical.result !== 'fail') {
    const unknown = [...spfTemp.map((d) => `SPF temperror for ${d}`), ...dkimTemp.map((d) => `DKIM temperror for d=${d}`)]
    out.uncertain = `${unknown.join(', ')}: alignment could not be ruled out`
  }
  return out
}

// RFC 7489 6.6.1 and the bundle's order of actions: a known reject first
// (G15), then anything unknown (G1E), then fails the policy lets through,
// then the rest.
export function strictness(o: DmarcOutcome): number {
  if (o.result === 'fail' && o.policy === 'reject') return o.uncertain ? 5 : 6
  if (o.result === 'temperror') return 5
  if (o.result === 'fail') return o.policy === 'quarantine' ? 4 : 3
  if (o.result === 'permerror') return 2
  if (o.result === 'none') return 1
  return 0
}

/** The outcomes strictest first (stable for equals: From order). */
export function byStrictness(outcomes: readonly DmarcOutcome[]): DmarcOutcome[] {
  return [...outcomes].sort((a, b) => strictness(b) - strictness(a))
}
