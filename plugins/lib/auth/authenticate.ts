// SPF, DKIM and DMARC for one message with mailauth, every lookup through
// the given resolver, the whole evaluation bounded in time and in DNS
// queries.
//
// mailauth's own authenticate() always runs SPF, so it cannot take the
// result haraka-plugin-spf already has; its parts are called instead: From
// is read first, as its verifier reads it (headers.ts), and each Author
// Domain's policy lookup starts at once; then dkimVerify (only for a message
// that carries a signature, within the caps of dkim-input.ts) and spf (only
// when no result was given), side by side; then dmarc (per Author Domain,
// with the SPF and DKIM results). ARC seals are verified only when asked
// (facts.verifyArc: the DMARC override); BIMI is not used.
import { isIP } from 'node:net'
import { ARCSigningData, DNSResolver, dkimVerify, spf as mailauthSpf } from 'mailauth'
import { verifyArc } from './arc'
import { ArcFacts, AuthFacts, AuthInput, SpfResult } from './facts'
import { AnswerCache } from '../dns/answer-cache'
import { byDeadline } from './deadline'
import { byStrictness, DmarcCache, evaluateDomain, Identifiers, policyKnown, prefetchPolicy } from './dmarc'
import { fromFacts } from './from'
import { HeaderFacts, maySign, readHeaders } from './headers'
import { messageStream, signaturesToVerify, Skipped } from './dkim-input'
import { MailauthResolver, MessageResolver, messageResolver, ResolverFn } from '../dns/mailauth'

export type { ArcFacts, AuthFacts, AuthInput, DmarcOutcome, SpfResult } from './facts'

/** [dns] timeout's default, for a resolver that does not say its own. */
const DEFAULT_LOOKUP_MS = 5000
/** How long past the bound the last answers may take to be read before the safety net gives up on them. */
const GRACE_MS = 200
/** [dmarc] max_from_domains and max_dkim_signatures' defaults, for a caller that does not say. */
const DEFAULT_MAX_FROM_DOMAINS = 10
const DEFAULT_MAX_SIGNATURES = 10

const SPF_RESULTS: ReadonlySet<string> = new Set<SpfResult>(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror'])

/**
 * SPF results and DMARC answers kept across messages, per base resolver:
 * the same question on the same DNS answers gets the same answer, so each
 * is kept only until the first DNS answer it was built on expires, and
 * never when one was a failure (see dns/front-end.ts). A repeat sender then costs
 * no evaluation at all.
 */
interface ResultCaches {
  spf: AnswerCache<AuthFacts['spf']>
  dmarc: DmarcCache
}
const resultCaches = new WeakMap<object, ResultCaches>()

function cachesFor(base: MailauthResolver): ResultCaches | undefined {
  if (!base.timed) return undefined
  let caches = resultCaches.get(base)
  if (!caches) {
    // No TTL of their own: each entry lives as long as its DNS answers.
    caches = { spf: new AnswerCache(Infinity), dmarc: new AnswerCache(Infinity) }
    resultCaches.set(base, caches)
  }
  return caches
}

async function runSpf(input: AuthInput, resolver: MessageResolver, cache?: ResultCaches['spf']): Promise<AuthFacts['spf']> {
  // RFC 7208 2.3: an address literal as HELO is not a domain to check;
  // mailauth expects it in brackets, as its authenticate() passes it.
  const helo = isIP(input.helo) ? `[${input.helo}]` : input.helo
  const key = JSON.stringify([input.mailFrom, input.ip, helo, input.mta])
  const hit = cache?.get(key)
  if (hit) return { ...hit }
  const tracked = resolver.track()
  // RFC 7208 2.4: for the null sender mailauth checks postmaster@HELO, which
  // is then the MAIL FROM identity.
  const res = await mailauthSpf({ sender: input.mailFrom, ip: input.ip, helo, mta: input.mta, resolver: tracked as DNSResolver })
  const result = String(res.status.result)
  const facts: AuthFacts['spf'] = {
    result: SPF_RESULTS.has(result) ? (result as SpfResult) : 'temperror',
    domain: res.domain,
    source: 'mailauth',
  }
  if (res.status.comment) facts.reason = res.status.comment
  if (cache && facts.result !== 'temperror') cache.set(key, { ...facts }, tracked.validUntil())
  return facts
}

interface DkimRow {
  signingDomain?: string | false
  selector?: string
  id?: string
  status: { result: string; comment?: string | false; underSized?: number }
}
interface DkimRows {
  results: DkimRow[]
  skipped: Skipped[]
  /** The ARC chain as the verifier read it (its newest ARC-Message-Signature verified), when it ran. */
  arc?: ARCSigningData
}

/**
 * DKIM for the message: nothing to do when the header carries no
 * DKIM-Signature and no ARC field. Otherwise the signatures within the caps
 * (see dkim-input.ts) are verified, the message streamed a chunk per turn of
 * the event loop. Not done by `until`: each signature handed over is
 * temperror (it might have passed), which DMARC treats as unknown when it
 * could have aligned.
 */
async function runDkim(raw: Buffer, head: HeaderFacts, max: number, resolver: ResolverFn, until: number): Promise<DkimRows> {
  if (!maySign(head.keys)) return { results: [], skipped: [] }
  const { raw: input, skipped, handed, verify: any } = signaturesToVerify(raw, head, max)
  if (!any) return { results: [], skipped }
  let stopped = false
  const verify = dkimVerify(messageStream(input, () => stopped), { resolver: resolver as DNSResolver })
  try {
    const done = await byDeadline(verify, until)
    if (done) return { results: done.results, skipped, ...(done.arc ? { arc: done.arc } : {}) }
  } finally {
    stopped = true
  }
  // What the signatures handed over would have said is unknown.
  const results = handed.map((signingDomain) => ({ signingDomain, status: { result: 'temperror', comment: 'not verified within the time limit of the evaluation' } }))
  return { results, skipped }
}

/** The deadline share of SPF and DKIM: DMARC keeps the last third of the bound for what depends on them (alignment walks, np). */
const SPF_DKIM_SHARE = 2 / 3

async function evaluate(input: AuthInput, resolver: MessageResolver, start: number, budget: number): Promise<AuthFacts> {
  const caches = cachesFor(input.resolver)
  const given = input.spfFromHaraka
  // RFC 7489 6.6.1: From first, so each Author Domain's policy lookup
  // starts at once, beside SPF and DKIM, in From order; the answers are
  // shared through the message's resolver, so the evaluation below asks
  // nothing twice.
  const head = readHeaders(input.raw)
  const { from, addressOf } = fromFacts(head.headerFrom, head.fromFields, input.maxFromDomains ?? DEFAULT_MAX_FROM_DOMAINS)
  const dmarcView = resolver.view('dmarc', start + budget)
  for (const d of from.domains) if (!policyKnown(d, caches?.dmarc)) prefetchPolicy(d, dmarcView)
  const early = start + Math.round(budget * SPF_DKIM_SHARE)
  const [dkim, spf] = await Promise.all([
    runDkim(input.raw, head, input.maxDkimSignatures ?? DEFAULT_MAX_SIGNATURES, resolver.view('dkim', early), early),
    given
      ? Promise.resolve<AuthFacts['spf']>({ result: given.result, domain: given.domain.toLowerCase(), source: 'haraka-plugin-spf' })
      : runSpf(input, resolver.view('spf', early), caches?.spf),
  ])

  // Unsigned messages get one "none" row from mailauth without a domain.
  const signatures = dkim.results.filter((r) => r.signingDomain)
  const ids: Identifiers = {
    spfPass: spf.result === 'pass' ? [spf.domain] : [],
    spfTemp: spf.result === 'temperror' ? [spf.domain] : [],
    dkimPass: signatures
      .filter((r) => r.status.result === 'pass')
      .map((r) => ({ domain: String(r.signingDomain), id: r.id, underSized: r.status.underSized })),
    dkimTemp: signatures.filter((r) => r.status.result === 'temperror').map((r) => String(r.signingDomain)),
  }

  const outcomes = await Promise.all(from.domains.map((d) => evaluateDomain(d, addressOf.get(d) ?? d, ids, dmarcView, caches?.dmarc)))
  const facts: AuthFacts = {
    spf,
    from,
    dkim: [
      ...signatures.map((r) => {
        const row: AuthFacts['dkim'][number] = { domain: String(r.signingDomain), result: String(r.status.result) }
        if (r.selector) row.selector = r.selector
        if (r.status.comment) row.comment = r.status.comment
        return row
      }),
      // RFC 8601 2.7.1 "policy": signed, but the signature was not acceptable here.
      ...dkim.skipped.map((k) => ({ domain: k.domain, result: 'policy', ...(k.selector ? { selector: k.selector } : {}), comment: k.why })),
    ],
  }
  const arcData = dkim.arc
  if (arcData && (arcData.chain || 'error' in arcData)) {
    let verified: Promise<ArcFacts> | undefined
    // The seals' keys are DKIM keys: the DKIM share of the budget, to the end of the bound.
    facts.verifyArc = () => (verified ??= verifyArc(arcData, resolver.view('dkim', start + budget), start + budget + GRACE_MS))
  }
  if (outcomes.length) {
    const sorted = byStrictness(outcomes)
    facts.dmarc = sorted.length > 1 ? { ...sorted[0], domains: sorted } : sorted[0]
  }
  return facts
}

// What is known when the safety net fires, or the evaluation failed: nothing
// but the given SPF; DMARC temperror, so the check defers (G1E) rather than
// lets the message through on something a sender may have provoked.
function unknown(input: AuthInput, why: string): AuthFacts {
  const given = input.spfFromHaraka
  return {
    spf: given
      ? { result: given.result, domain: given.domain.toLowerCase(), source: 'haraka-plugin-spf' }
      : { result: 'temperror', domain: (input.mailFrom ? input.mailFrom.slice(input.mailFrom.lastIndexOf('@') + 1) : input.helo).toLowerCase(), source: 'mailauth', reason: why },
    from: { addresses: [], headerCount: 0, domains: [], note: `${why}: From unknown` },
    dmarc: { result: 'temperror', reason: why },
    dkim: [],
  }
}

/** The From addresses, read again for the G1E line when the evaluation itself failed. */
function withFrom(input: AuthInput, facts: AuthFacts): AuthFacts {
  try {
    const head = readHeaders(input.raw)
    facts.from = { ...facts.from, addresses: head.headerFrom, headerCount: head.fromFields }
  } catch {
    // nothing more to say
  }
  return facts
}

/**
 * Authenticates one message. Every lookup goes through `input.resolver`,
 * at most `maxLookups` of them; none outlives the bound (maxLookupsMs,
 * default 3 × the resolver's timeout): SPF and DKIM get the first two
 * thirds, the DMARC policy lookups start at once and may use all of it; past
 * its deadline a lookup answers ETIMEOUT and what it would have decided is
 * temperror. Never rejects: should the evaluation fail or a safety net fire,
 * DMARC is temperror (G1E with [dmarc] temperror=defer), never acceptance by
 * the hook's catch.
 */
export async function authenticate(input: AuthInput): Promise<AuthFacts> {
  const budget = Math.max(1, input.maxLookupsMs ?? 3 * (input.resolver.timeoutMs ?? DEFAULT_LOOKUP_MS))
  const start = Date.now()
  const resolver = messageResolver(input.resolver, start + budget, input.maxLookups ?? Infinity)
  const work = Promise.resolve()
    .then(() => evaluate(input, resolver, start, budget))
    .catch((err: unknown) => withFrom(input, unknown(input, `authentication failed: ${err instanceof Error ? err.message : String(err)}`)))
  const facts = (await byDeadline(work, start + budget + GRACE_MS)) ?? withFrom(input, unknown(input, `authentication did not finish within ${budget} ms`))
  const b = resolver.budget
  facts.lookups = { count: b.total, max: b.max, refused: b.refused }
  return facts
}
