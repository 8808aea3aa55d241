// The DNS resolver handed to mailauth: `resolver(name, rrtype)` answering in
// the shape of node:dns `resolve(name, rrtype)`, through [dns] servers, with
// [dns] timeout bounding each lookup in total, retries included.
//
// Errors keep node:dns codes, because mailauth reads them to tell "no record"
// from "could not find out": ENOTFOUND and ENODATA are no record (and EBADNAME
// a name that cannot exist); every other code (ESERVFAIL, ETIMEOUT,
// EREFUSED, ECONNREFUSED, ...) is a temporary error: SPF temperror (RFC 7208
// 4.4 and 5: an RCODE other than 0 or 3, or a timeout), a key that could not
// be fetched (RFC 6376 6.1.2: TEMPFAIL), DMARC temperror (RFC 7489 6.6.3:
// DNS errors are the receiver's call). Checked in mailauth 7: lib/spf/index.js,
// lib/dkim/dkim-verifier.js, lib/dmarc/get-dmarc-record.js.
import { AnswerCache } from './answer-cache'
import { channels } from './resolver'

export type ResolverFn = (name: string, rrtype: string) => Promise<unknown>

/**
 * An answer (a value or a node:dns error) and until when it holds, in ms
 * since the epoch: the expiry of the cached answer it is, 0 when it was not
 * kept (a failure, or no cache). What is built on answers holds no longer
 * than the first of them expires.
 */
export interface TimedAnswer {
  value?: unknown
  error?: NodeJS.ErrnoException
  expires: number
}

/** A resolver that also says how long one lookup may take, for the default bound of a whole evaluation. */
export type MailauthResolver = ResolverFn & {
  readonly timeoutMs?: number
  /** The same lookup with how long its answer holds (mailauthResolver's have it). */
  readonly timed?: (name: string, rrtype: string) => Promise<TimedAnswer>
  /** The kept answer, when there is one, at once (mailauthResolver's have it). */
  readonly cached?: (name: string, rrtype: string) => TimedAnswer | undefined
}

/** An Error with a node:dns code. */
export function dnsError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message)
  err.code = code
  return err
}

/** Rejects with ETIMEOUT when `query` has not settled within `ms`. */
export async function withTimeout<T>(query: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(dnsError('ETIMEOUT', `${what}: no answer within ${ms} ms`)), Math.max(0, ms))
  })
  // The lookup may still settle after the timeout; nothing waits for it then.
  query.catch(() => undefined)
  try {
    return await Promise.race([query, timeout])
  } finally {
    clearTimeout(timer)
  }
}

// "No such record" is an answer too and is kept; other errors are not.
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA'])
type Kept = { value: unknown } | { code: string; message: string }

function build(servers: readonly string[], timeoutSec: number, cacheSec: number): MailauthResolver {
  const totalMs = Math.max(50, Math.round(timeoutSec * 1000))
  // As in resolver.ts: a channel per lookup with the whole timeout; the race holds the bound.
  const channel = channels(servers, totalMs)
  const cache = new AnswerCache<Kept>(cacheSec * 1000)
  const keyOf = (name: string, rrtype: string): string => `${rrtype}:${name.toLowerCase()}`
  const kept = (key: string): TimedAnswer | undefined => {
    const hit = cache.entry(key)
    if (!hit) return undefined
    const k = hit.value
    if ('value' in k) return { value: Array.isArray(k.value) ? k.value.slice() : k.value, expires: hit.expires }
    return { error: dnsError(k.code, k.message), expires: hit.expires }
  }
  const cached = (name: string, rrtype: string): TimedAnswer | undefined => kept(keyOf(name, rrtype))
  const timed = async (name: string, rrtype: string): Promise<TimedAnswer> => {
    const key = keyOf(name, rrtype)
    const hit = kept(key)
    if (hit) return hit
    try {
      const value = await withTimeout(channel().resolve(name, rrtype), totalMs, `${rrtype} ${name}`)
      const expires = cache.set(key, { value })
      return { value: Array.isArray(value) ? value.slice() : value, expires }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const expires = e.code && NO_RECORD.has(e.code) ? cache.set(key, { code: e.code, message: e.message }) : 0
      return { error: e, expires }
    }
  }
  const fn = async (name: string, rrtype: string): Promise<unknown> => {
    const answer = await timed(name, rrtype)
    if ('error' in answer) throw answer.error
    return answer.value
  }
  return Object.assign(fn, { timeoutMs: totalMs, timed, cached })
}

let current: { signature: string; resolver: MailauthResolver } | undefined

/**
 * The resolver for the current [dns] settings, one per process (a c-ares
 * channel per message would cost sockets for nothing). Empty servers: the
 * system's resolvers, as [dns] servers documents.
 */
export function mailauthResolver(servers: readonly string[], timeoutSec: number, cacheSec = 0): MailauthResolver {
  const signature = JSON.stringify([servers, timeoutSec, cacheSec])
  if (current?.signature !== signature) current = { signature, resolver: build(servers, timeoutSec, cacheSec) }
  return current.resolver
}

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
