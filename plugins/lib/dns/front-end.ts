// The one place the bundle asks the DNS: a c-ares query through [dns]
// servers, bounded by [dns] timeout in total, retries included, and the one
// answer cache behind it. The checks' Dns (resolver.ts) and the resolver
// handed to mailauth (mailauth-view.ts) are two views of it, so a name one of
// them looked up is not asked again by the other while its answer is kept
// (registry.ts shares one front-end between views on the same settings).
import { promises as dnsp } from 'node:dns'
import { AnswerCache } from './answer-cache'
import { Lookup, NO_RECORD } from './lookup'
import { withTimeout } from './timeout'

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

/**
 * What the cache keeps of an answer: the records as node:dns gave them, or
 * "no such record" with its code; failures are never kept. `lookup` is the
 * checks' reading of it, made once on their first hit.
 */
export type Kept = ({ value: unknown } | { code: string; message: string }) & { lookup?: Lookup<unknown> }

// Answers are kept [dns] cache_ttl seconds, failures never, the oldest
// first out when full: room for 20,000 answers for the checks and as many
// for mailauth.
const MAX_KEPT = 40_000

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

/** Errors node:dns gives before asking anything (a name that cannot be a question): not a failure of the DNS. */
const NOT_ASKED: ReadonlySet<string> = new Set(['EBADNAME', 'EBADQUERY', 'EBADSTR', 'EBADFAMILY'])

/** The cache key of a question: names are case-insensitive. */
export function keyOf(name: string, rrtype: string): string {
  return `${rrtype}:${name.toLowerCase()}`
}

export class FrontEnd {
  /** [dns] timeout in ms: the bound of one lookup, retries included. */
  readonly timeoutMs: number
  private readonly channel: () => dnsp.Resolver
  private readonly cache: AnswerCache<Kept>

  /**
   * @param failed told once per lookup the DNS failed (timeout, SERVFAIL,
   *   refused, ...): not for "no such record", nor for a kept answer.
   */
  constructor(servers: readonly string[], timeoutSec: number, cacheSec: number, private readonly failed?: () => void) {
    this.timeoutMs = Math.max(50, Math.round(timeoutSec * 1000))
    // The race in ask() holds the bound whatever c-ares does with its timers.
    this.channel = channels(servers, this.timeoutMs)
    this.cache = new AnswerCache<Kept>(cacheSec * 1000, MAX_KEPT)
  }

  /** The kept answer under `key`, with when it expires. */
  kept(key: string): { value: Kept; expires: number } | undefined {
    return this.cache.entry(key)
  }

  /**
   * Asks the DNS (the cache is the caller's to read first) and keeps records
   * and "no such record" under `key`. The value is the caller's own copy.
   */
  async ask(name: string, rrtype: string, key: string = keyOf(name, rrtype)): Promise<TimedAnswer> {
    try {
      const value: unknown = await withTimeout(this.channel().resolve(name, rrtype), this.timeoutMs, `${rrtype} ${name}`)
      const expires = this.cache.set(key, { value })
      return { value: Array.isArray(value) ? value.slice() : value, expires }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const none = e.code !== undefined && NO_RECORD.has(e.code)
      const expires = none && e.code ? this.cache.set(key, { code: e.code, message: e.message }) : 0
      if (!none && !(e.code && NOT_ASKED.has(e.code))) this.failed?.()
      return { error: e, expires }
    }
  }
}
