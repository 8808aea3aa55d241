// A small cache of DNS answers in the Haraka process: the same names come up
// message after message (DNS lists per client, SPF and DMARC records per
// sender domain), and even a local resolver costs a round trip and a parse
// each time. Answers live [dns] cache_ttl seconds; failures are never kept,
// so a SERVFAIL or a timeout is asked again next time. The oldest entries go
// first when the cache is full.
export class AnswerCache<T> {
  private readonly map = new Map<string, { value: T; expires: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly max = 20_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0
  }

  get(key: string): T | undefined {
    return this.entry(key)?.value
  }

  /** The value with when it expires (ms since the epoch). */
  entry(key: string): { value: T; expires: number } | undefined {
    const e = this.map.get(key)
    if (!e) return undefined
    if (e.expires <= this.now()) {
      this.map.delete(key)
      return undefined
    }
    return e
  }

  /** Keeps value for the TTL, or until `until` when that is sooner; returns when it expires (0: not kept). */
  set(key: string, value: T, until = Infinity): number {
    const expires = Math.min(this.now() + this.ttlMs, until)
    if (!this.enabled || expires <= this.now()) return 0
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
    this.map.set(key, { value, expires })
    return expires
  }
}
