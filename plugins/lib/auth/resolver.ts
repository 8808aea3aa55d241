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
import { promises as dnsp } from 'node:dns'
import { AnswerCache } from '../answer-cache'

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
  // As in ../dns.ts: one try with the whole budget (c-ares drops answers
  // that come after a try's own timeout); the race holds the bound.
  const resolver = new dnsp.Resolver({ timeout: totalMs, tries: 1 })
  if (servers.length) resolver.setServers([...servers])
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
      const value = await withTimeout(resolver.resolve(name, rrtype), totalMs, `${rrtype} ${name}`)
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

/** One message's resolver, and views of it that say how long what was built on their answers holds. */
export type MessageResolver = ResolverFn & { track(): TrackedResolver }

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
 * and every DMARC evaluation share the answers, so they also agree), and no
 * lookup outlives `deadline`: past it, the answer is ETIMEOUT, which mailauth
 * turns into temperror, so work still running stops at once.
 */
export function messageResolver(base: MailauthResolver, deadline: number): MessageResolver {
  const answers = new Map<string, Promise<TimedAnswer>>()
  const ask = (name: string, rrtype: string): Promise<TimedAnswer> => {
    const key = `${rrtype}:${name.toLowerCase()}`
    let answer = answers.get(key)
    if (!answer) {
      const left = deadline - Date.now()
      // A kept answer needs no timer: a message from a known sender asks nothing of the DNS.
      const kept = left > 0 ? base.cached?.(name, rrtype) : undefined
      if (kept) {
        answer = Promise.resolve(kept)
      } else if (left <= 0) {
        answer = Promise.resolve({ error: dnsError('ETIMEOUT', `${rrtype} ${name}: time limit of the evaluation reached`), expires: 0 })
      } else {
        const lookup = (): Promise<TimedAnswer> =>
          base.timed
            ? base.timed(name, rrtype)
            : base(name, rrtype).then((value) => ({ value, expires: 0 }), (error: NodeJS.ErrnoException) => ({ error, expires: 0 }))
        answer = withTimeout(Promise.resolve().then(lookup), left, `${rrtype} ${name}`).catch((error: NodeJS.ErrnoException) => ({ error, expires: 0 }))
      }
      answers.set(key, answer)
    }
    return answer
  }
  // mailauth sorts some answers in place and marks errors with its own
  // verdicts: every caller gets its own list or error.
  const view = (seen?: (expires: number) => void): ResolverFn => (name, rrtype) => {
    seen?.(-1)
    return ask(name, rrtype).then((a) => {
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
    let until = Infinity
    const fn = view((expires) => {
      if (expires < 0) {
        pending++
        return
      }
      pending--
      until = Math.min(until, expires)
    })
    return Object.assign(fn, { validUntil: () => (pending ? 0 : until) })
  }
  return Object.assign(view(), { track })
}
