// The embedded store: counters in this Haraka process. Nothing to run, but
// each process (each worker with nodes>1) counts on its own.
import { CounterStore } from './types'

interface Entry {
  value: string | number
  expires: number
}

export class MemoryStore implements CounterStore {
  readonly backend = 'memory'
  private readonly map = new Map<string, Entry>()
  private readonly sweeper: NodeJS.Timeout

  constructor(private readonly now: () => number = Date.now) {
    // Expired keys are dropped when read and by this sweep, so keys of
    // clients that never come back do not pile up.
    this.sweeper = setInterval(() => this.sweep(), 60_000)
    this.sweeper.unref()
  }

  private live(key: string): Entry | undefined {
    const e = this.map.get(key)
    if (e && e.expires <= this.now()) {
      this.map.delete(key)
      return undefined
    }
    return e
  }

  private sweep(): void {
    const t = this.now()
    for (const [k, e] of this.map) if (e.expires <= t) this.map.delete(k)
  }

  get size(): number {
    this.sweep()
    return this.map.size
  }

  async incr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) + by
    this.map.set(key, { value, expires: this.now() + ttlSec * 1000 })
    return value
  }

  async decr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) - by
    if (value <= 0) {
      this.map.delete(key)
      return 0
    }
    this.map.set(key, { value, expires: this.now() + ttlSec * 1000 })
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
    this.map.set(key, { value: stored, expires: this.now() + ttlSec * 1000 })
    return stored
  }

  async put(key: string, value: string, ttlSec: number): Promise<void> {
    this.map.set(key, { value, expires: this.now() + ttlSec * 1000 })
  }

  async fetch(key: string): Promise<string | undefined> {
    const e = this.live(key)
    return e === undefined ? undefined : String(e.value)
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper)
    this.map.clear()
  }
}
