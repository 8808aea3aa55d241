// SPF, DKIM and DMARC for one message with mailauth, every lookup through
// the given resolver, the whole evaluation bounded in time.
//
// mailauth's own authenticate() always runs SPF, so it cannot take the
// result haraka-plugin-spf already has; its parts are called instead:
// dkimVerify (only for a message that carries a signature; otherwise From
// is read as it would read it), spf (only when no result was given)
// and dmarc (per Author Domain, with the SPF and DKIM results). ARC and BIMI
// are not used: no check here depends on them.
import { isIP } from 'node:net'
import { DNSResolver, dkimVerify, spf as mailauthSpf } from 'mailauth'
import { AuthFacts, AuthInput, SpfResult } from './facts'
import { AnswerCache } from '../answer-cache'
import { byStrictness, DmarcCache, evaluateDomain, Identifiers } from './dmarc'
import { fromFacts } from './from'
import { maySign, readHeaders } from './headers'
import { MailauthResolver, MessageResolver, messageResolver, ResolverFn } from './resolver'

export type { AuthFacts, AuthInput, DmarcOutcome, SpfResult } from './facts'

/** [dns] timeout's default, for a resolver that does not say its own. */
const DEFAULT_LOOKUP_MS = 5000
/** How long past the bound the last answers may take to be read before the safety net gives up on them. */
const GRACE_MS = 200

const SPF_RESULTS: ReadonlySet<string> = new Set<SpfResult>(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror'])

/**
 * SPF results and DMARC answers kept across messages, per base resolver:
 * the same question on the same DNS answers gets the same answer, so each
 * is kept only until the first DNS answer it was built on expires, and
 * never when one was a failure (see resolver.ts). A repeat sender then costs
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

/**
 * What dkimVerify needs to see: the whole message when it is signed; the
 * header alone when it is not, since there is then no body hash to check and
 * the header still gives the From fields. Reading a large body costs more
 * than the rest of the evaluation.
 */
function dkimInput(raw: Buffer): Buffer {
  let end = raw.indexOf('\r\n\r\n')
  let sep = 4
  if (end < 0) {
    end = raw.indexOf('\n\n')
    sep = 2
  }
  if (end < 0) return raw
  const head = raw.subarray(0, end + sep)
  return /^dkim-signature[ \t]*:/im.test(head.toString('latin1')) ? raw : head
}

type DkimResult = Awaited<ReturnType<typeof dkimVerify>>

/**
 * DKIM for the message, or what dkimVerify would say of it without running
 * it: when the header carries no DKIM-Signature and no ARC field there is
 * nothing to verify, and the From fields (all DMARC needs from it) are read
 * by the same code (see headers.ts).
 */
async function runDkim(raw: Buffer, resolver: ResolverFn): Promise<Pick<DkimResult, 'results' | 'headerFrom' | 'fromFields'>> {
  const head = readHeaders(raw)
  if (maySign(head.keys)) return dkimVerify(dkimInput(raw), { resolver: resolver as DNSResolver })
  return { results: [], headerFrom: head.headerFrom, fromFields: head.fromFields }
}

async function evaluate(input: AuthInput, resolver: MessageResolver): Promise<AuthFacts> {
  const caches = cachesFor(input.resolver)
  const given = input.spfFromHaraka
  const [dkim, spf] = await Promise.all([
    runDkim(input.raw, resolver),
    given
      ? Promise.resolve<AuthFacts['spf']>({ result: given.result, domain: given.domain.toLowerCase(), source: 'haraka-plugin-spf' })
      : runSpf(input, resolver, caches?.spf),
  ])

  // Unsigned messages get one "none" row from mailauth without a domain.
  const signatures = dkim.results.filter((r) => r.signingDomain)
  const ids: Identifiers = {
    spfPass: spf.result === 'pass' ? [spf.domain] : [],
    spfTemp: spf.result === 'temperror' ? [spf.domain] : [],
    dkimPass: signatures
      .filter((r) => r.status.result === 'pass')
      .map((r) => ({ domain: r.signingDomain as string, id: r.id, underSized: r.status.underSized })),
    dkimTemp: signatures.filter((r) => r.status.result === 'temperror').map((r) => r.signingDomain as string),
  }

  const { from, addressOf } = fromFacts(dkim.headerFrom ?? [], dkim.fromFields ?? 0)
  const outcomes = await Promise.all(from.domains.map((d) => evaluateDomain(d, addressOf.get(d) ?? d, ids, resolver, caches?.dmarc)))
  const facts: AuthFacts = {
    spf,
    from,
    dkim: signatures.map((r) => {
      const row: AuthFacts['dkim'][number] = { domain: r.signingDomain as string, result: String(r.status.result) }
      if (r.selector) row.selector = r.selector
      if (r.status.comment) row.comment = r.status.comment
      return row
    }),
  }
  if (outcomes.length) {
    const sorted = byStrictness(outcomes)
    facts.dmarc = sorted.length > 1 ? { ...sorted[0], domains: sorted } : sorted[0]
  }
  return facts
}

// What is known when the safety net fires: nothing but the given SPF.
function timedOut(input: AuthInput, budget: number): AuthFacts {
  const why = `authentication did not finish within ${budget} ms`
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

/**
 * Authenticates one message. Every lookup goes through `input.resolver`;
 * none outlives the bound (maxLookupsMs, default 3 × the resolver's
 * timeout), past which a lookup answers ETIMEOUT and what it would have
 * decided is temperror. A safety net returns temperror facts should
 * anything else hold the evaluation past the bound. Rejects only on a bug
 * or input mailauth cannot read; the hook lets the mail through then.
 */
export async function authenticate(input: AuthInput): Promise<AuthFacts> {
  const budget = Math.max(1, input.maxLookupsMs ?? 3 * (input.resolver.timeoutMs ?? DEFAULT_LOOKUP_MS))
  const resolver = messageResolver(input.resolver, Date.now() + budget)
  let timer: NodeJS.Timeout | undefined
  const safetyNet = new Promise<AuthFacts>((resolve) => {
    timer = setTimeout(() => resolve(timedOut(input, budget)), budget + GRACE_MS)
  })
  const work = evaluate(input, resolver)
  work.catch(() => undefined)
  try {
    return await Promise.race([work, safetyNet])
  } finally {
    clearTimeout(timer)
  }
}
