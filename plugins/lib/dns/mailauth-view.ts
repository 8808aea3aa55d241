// The DNS resolver handed to mailauth: `resolver(name, rrtype)` answering in
// the shape of node:dns `resolve(name, rrtype)`, a view of the same
// front-end and answer cache as the checks' Dns (front-end.ts, registry.ts).
//
// Errors keep node:dns codes, because mailauth reads them to tell "no record"
// from "could not find out": ENOTFOUND and ENODATA are no record (and EBADNAME
// a name that cannot exist); every other code (ESERVFAIL, ETIMEOUT,
// EREFUSED, ECONNREFUSED, ...) is a temporary error: SPF temperror (RFC 7208
// 4.4 and 5: an RCODE other than 0 or 3, or a timeout), a key that could not
// be fetched (RFC 6376 6.1.2: TEMPFAIL), DMARC temperror (RFC 7489 6.6.3:
// DNS errors are the receiver's call). Checked in mailauth 7: lib/spf/index.js,
// lib/dkim/dkim-verifier.js, lib/dmarc/get-dmarc-record.js.
import { FrontEnd, TimedAnswer, keyOf } from './front-end'
import { dnsError } from './timeout'

export type ResolverFn = (name: string, rrtype: string) => Promise<unknown>

/** A resolver that also says how long one lookup may take, for the default bound of a whole evaluation. */
export type MailauthResolver = ResolverFn & {
  readonly timeoutMs?: number
  /** The same lookup with how long its answer holds (a view of a front-end has it). */
  readonly timed?: (name: string, rrtype: string) => Promise<TimedAnswer>
  /** The kept answer, when there is one, at once (a view of a front-end has it). */
  readonly cached?: (name: string, rrtype: string) => TimedAnswer | undefined
}

/** The resolver handed to mailauth, on this front-end and its cache. */
export function mailauthView(frontEnd: FrontEnd): MailauthResolver {
  // mailauth sorts some answers in place: every caller gets its own list, and a kept error is made anew.
  const kept = (key: string): TimedAnswer | undefined => {
    const hit = frontEnd.kept(key)
    if (!hit) return undefined
    const k = hit.value
    if ('value' in k) return { value: Array.isArray(k.value) ? k.value.slice() : k.value, expires: hit.expires }
    return { error: dnsError(k.code, k.message), expires: hit.expires }
  }
  const cached = (name: string, rrtype: string): TimedAnswer | undefined => kept(keyOf(name, rrtype))
  const timed = async (name: string, rrtype: string): Promise<TimedAnswer> => {
    const key = keyOf(name, rrtype)
    return kept(key) ?? frontEnd.ask(name, rrtype, key)
  }
  const fn = async (name: string, rrtype: string): Promise<unknown> => {
    const answer = await timed(name, rrtype)
    if ('error' in answer) throw answer.error
    return answer.value
  }
  return Object.assign(fn, { timeoutMs: frontEnd.timeoutMs, timed, cached })
}
