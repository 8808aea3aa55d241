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

/** A resolver that also says how long one lookup may take, for the default bound of a whole evaluation. */
export type MailauthResolver = ResolverFn & { readonly timeoutMs?: number }

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
  const fn = async (name: string, rrtype: string): Promise<unknown> => {
    const key = `${rrtype}:${name.toLowerCase()}`
    const hit = cache.get(key)
    if (hit) {
      if ('value' in hit) return Array.isArray(hit.value) ? hit.value.slice() : hit.value
      throw dnsError(hit.code, hit.message)
    }
    try {
      const value = await withTimeout(resolver.resolve(name, rrtype), totalMs, `${rrtype} ${name}`)
      cache.set(key, { value })
      return Array.isArray(value) ? value.slice() : value
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code && NO_RECORD.has(e.code)) cache.set(key, { code: e.code, message: e.message })
      throw err
    }
  }
  return Object.assign(fn, { timeoutMs: totalMs })
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

/**
 * One message's view of a resolver: each question is asked once (SPF, DKIM
 * and every DMARC evaluation share the answers, so they also agree), and no
 * lookup outlives `deadline`: past it, the answer is ETIMEOUT, which mailauth
 * turns into temperror, so work still running stops at once.
 */
export function messageResolver(base: ResolverFn, deadline: number): ResolverFn {
  const answers = new Map<string, Promise<unknown>>()
  return (name, rrtype) => {
    const key = `${rrtype}:${name.toLowerCase()}`
    let answer = answers.get(key)
    if (!answer) {
      const left = deadline - Date.now()
      answer = left > 0
        ? withTimeout(Promise.resolve().then(() => base(name, rrtype)), left, `${rrtype} ${name}`)
        : Promise.reject(dnsError('ETIMEOUT', `${rrtype} ${name}: time limit of the evaluation reached`))
      answer.catch(() => undefined)
      answers.set(key, answer)
    }
    // mailauth sorts some answers in place and marks errors with its own
    // verdicts: every caller gets its own list or error.
    return answer.then(
      (value) => (Array.isArray(value) ? value.slice() : value),
      (err: NodeJS.ErrnoException) => {
        throw dnsError(err?.code ?? 'EUNKNOWN', err?.message ?? String(err))
      },
    )
  }
}
