// One message's resolver for mailauth, on the process's (mailauth.ts): each
// question asked once per message, each use (SPF, DKIM, DMARC) with its own
// deadline, and the message's lookup budget ([dns] max_lookups).
import type { MailauthResolver, ResolverFn } from './mailauth-view'
import type { TimedAnswer } from './front-end'
import { dnsError, withTimeout } from './timeout'

/** What a lookup is for: each has a share of the message's lookup budget kept for it. */
export type LookupUse = 'spf' | 'dkim' | 'dmarc'

/** The node:dns-style code of a lookup refused by the budget: not a "no record" code, so mailauth reads it as a temporary failure. */
export const BUDGET_CODE = 'ELOOKUPBUDGET'

/**
 * The DNS queries one message may send ([dns] max_lookups), so that a
 * sender cannot make one message cost thousands of lookups. A third of it is
 * kept for SPF and a third for DMARC until they use it: a flood of From
 * domains or signatures cannot starve the MAIL FROM domain's SPF (R2) or the
 * policy lookups. Answers already kept (cache) cost nothing.
 */
export class LookupBudget {
  private readonly used: Record<LookupUse, number> = { spf: 0, dkim: 0, dmarc: 0 }
  private readonly kept: Record<LookupUse, number>
  total = 0
  refused = 0

  constructor(readonly max: number) {
    const third = Math.floor(max / 3)
    this.kept = { spf: third, dkim: 0, dmarc: third }
  }

  take(use: LookupUse): boolean {
    if (!Number.isFinite(this.max)) {
      this.total++
      return true
    }
    let others = 0
    for (const u of ['spf', 'dkim', 'dmarc'] as const) if (u !== use) others += Math.max(0, this.kept[u] - this.used[u])
    if (this.total + others >= this.max) {
      this.refused++
      return false
    }
    this.used[use]++
    this.total++
    return true
  }
}

/** One message's resolver, and views of it that say how long what was built on their answers holds. */
export type MessageResolver = ResolverFn & {
  track(): TrackedResolver
  /** The same answers, for another use, with its own deadline (ms since the epoch). */
  view(use: LookupUse, deadline: number): MessageResolver
  readonly budget: LookupBudget
}

export type TrackedResolver = ResolverFn & {
  /**
   * Until when every answer this view gave out holds (ms since the epoch);
   * 0 when one may not be reused (a failure, a timeout, no cache, a lookup
   * still running), Infinity when none was asked.
   */
  validUntil(): number
}

/**
 * One message's view of a resolver: each question is asked once (SPF, DKIM
 * and every DMARC evaluation share the answers, so they also agree); each
 * view has its deadline, past which its answer is ETIMEOUT, which mailauth
 * turns into temperror, so work still running stops at once; a query past
 * the message's budget fails with BUDGET_CODE, also temporary.
 */
export function messageResolver(base: MailauthResolver, deadline: number, maxLookups = Infinity, use: LookupUse = 'dmarc'): MessageResolver {
  // Each question's answer, not bounded by any view's deadline: a later view with more time may still get it.
  const answers = new Map<string, Promise<TimedAnswer>>()
  const budget = new LookupBudget(maxLookups)
  const failed = (code: string, message: string): TimedAnswer => ({ error: dnsError(code, message), expires: 0 })

  const answer = (name: string, rrtype: string, use: LookupUse): Promise<TimedAnswer> => {
    const key = `${rrtype}:${name.toLowerCase()}`
    let found = answers.get(key)
    if (found) return found
    // A kept answer needs no timer and no query: a message from a known sender asks nothing of the DNS.
    const kept = base.cached?.(name, rrtype)
    if (kept) found = Promise.resolve(kept)
    else if (!budget.take(use)) return Promise.resolve(failed(BUDGET_CODE, `${rrtype} ${name}: lookup budget of ${budget.max} per message reached`))
    else if (base.timed) found = base.timed(name, rrtype)
    else found = Promise.resolve().then(() => base(name, rrtype)).then((value) => ({ value, expires: 0 }), (error: NodeJS.ErrnoException) => ({ error, expires: 0 }))
    answers.set(key, found)
    return found
  }
  const ask = (name: string, rrtype: string, use: LookupUse, until: number): Promise<TimedAnswer> => {
    const left = until - Date.now()
    if (left <= 0) return Promise.resolve(failed('ETIMEOUT', `${rrtype} ${name}: time limit of the evaluation reached`))
    return withTimeout(answer(name, rrtype, use), left, `${rrtype} ${name}`).catch((error: NodeJS.ErrnoException) => ({ error, expires: 0 }))
  }
  const make = (use: LookupUse, until: number): MessageResolver => {
    // mailauth sorts some answers in place and marks errors with its own
    // verdicts: every caller gets its own list or error.
    const fn = (seen?: (expires: number) => void): ResolverFn => (name, rrtype) => {
      seen?.(-1)
      return ask(name, rrtype, use, until).then((a) => {
        seen?.(a.expires)
        if ('error' in a) {
          const e = a.error
          throw dnsError(e?.code ?? 'EUNKNOWN', e?.message ?? String(e))
        }
        return Array.isArray(a.value) ? a.value.slice() : a.value
      })
    }
    const track = (): TrackedResolver => {
      let pending = 0
      let valid = Infinity
      const tracked = fn((expires) => {
        if (expires < 0) {
          pending++
          return
        }
        pending--
        valid = Math.min(valid, expires)
      })
      return Object.assign(tracked, { validUntil: () => (pending ? 0 : valid) })
    }
    return Object.assign(fn(), { track, view: make, budget })
  }
  return make(use, deadline)
}
