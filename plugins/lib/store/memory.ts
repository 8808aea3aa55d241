// The embedded store: counters in this Haraka process. Nothing to run, but
// each process (each worker with nodes>1) counts on its own.
//
// Senders choose the keys (a new address, a new client network for each
// message), so the number of keys is capped ([store] max_keys): past it the
// least recently used key goes. The Map keeps its keys in insertion order
// and every use inserts the key again, so the first key is the least
// recently used one and each operation stays O(1). A key dropped that way
// counts from zero again, as an expired one does.
import { CounterStore } from './types'

interface Entry {
  value: string | number
  expires: number
}

/** [store] max_keys when none is given (the setting's default). */
export const DEFAULT_MAX_KEYS = 1_000_000
/** Keys looked at per turn of the event loop by the sweep, so that a full store never holds the loop for long. */
const SWEEP_SLICE = 10_000
const SWEEP_EVERY_MS = 60_000

export class MemoryStore implements CounterStore {
  readonly backend = 'memory'
  private readonly map = new Map<string, Entry>()
  private readonly sweeper: NodeJS.Timeout
  private sweeping = false
  private closed = false
  /** Keys dropped to stay within maxKeys, since the start. */
  evicted = 0

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys: number = DEFAULT_MAX_KEYS,
  ) {
    // Expired keys are dropped when read and by this sweep, so keys of
    // clients that never come back do not pile up.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS)
    this.sweeper.unref()
  }

  private live(key: string): Entry | undefined {
    const e = this.map.get(key)
    if (e === undefined) return undefined
    this.map.delete(key)
    if (e.expires <= this.now()) return undefined
    // Used now: to the end of the order.
    this.map.set(key, e)
    return e
  }

  private set(key: string, entry: Entry): void {
    this.map.delete(key)
    this.map.set(key, entry)
    if (this.map.size <= this.maxKeys) return
    const oldest = this.map.keys().next()
    if (!oldest.done) {
      this.map.delete(oldest.value)
      this.evicted++
    }
  }

  /**
   * Drops expired keys, a slice at a time (run by the store's timer); each
   * round looks at as many keys as there were when it began.
   */
  sweep(): void {
    if (this.sweeping || this.closed) return
    this.sweeping = true
    const keys = this.map.entries()
    let left = this.map.size
    const slice = (): void => {
      const t = this.now()
      for (let n = 0; n < SWEEP_SLICE && left > 0; n++, left--) {
        const next = keys.next()
        if (next.done) {
          left = 0
          break
        }
        const [k, e] = next.value
        if (e.expires <= t) this.map.delete(k)
      }
      if (left > 0 && !this.closed) setImmediate(slice)
      else this.sweeping = false
    }
    slice()
  }

  /** Keys held now, expired ones not yet dropped included. */
  get held(): number {
    return this.map.size
  }

  /** Keys held, expired ones not counted (a full pass: for tests and tools). */
  get size(): number {
    const t = this.now()
    for (const [k, e] of this.map) if (e.expires <= t) this.map.delete(k)
    return this.map.size
  }

  async incr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) + by
    this.set(key, { value, expires: this.now() + ttlSec * 1000 })
    return value
  }

  async decr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) - by
    if (value <= 0) {
      this.map.delete(key)
      return 0
    }
    this.set(key, { value, expires: this.now() + ttlSec * 1000 })
    return value
  }

  async gauge(key: string, delta: number, ttlSec: number): Promise<number> {
    return delta >= 0 ? this.incr(key, delta, ttlSec) : this.decr(key, -delta, ttlSec)
  }

  async get(keys: string[]): Promise<number[]> {
    return keys.map((k) => Number(this.live(k)?.value ?? 0))
  }

  async setIfAbsent(key: string, value: string, ttlSec: number): Promise<string> {
    const e = this.live(key)
    const stored = e ? String(e.value) : value
    this.set(key, { value: stored, expires: this.now() + ttlSec * 1000 })
    return stored
  }

  async put(key: string, value: string, ttlSec: number): Promise<void> {
    this.set(key, { value, expires: this.now() + ttlSec * 1000 })
  }

  async fetch(key: string): Promise<string | undefined> {
    const e = this.live(key)
    return e === undefined ? undefined : String(e.value)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    this.map.clear()
  }
}
