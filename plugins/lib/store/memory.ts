// The embedded store: counters in this Haraka process. Nothing to run, but
// each process (each worker with nodes>1) counts on its own.
//
// Senders choose the keys (a new address, a new client network for each
// message), so the number of keys is capped ([store] max_keys): past it the
// least recently used key goes. A Map keeps its keys in insertion order and
// every use inserts the key again, so its first key is the least recently
// used one and each operation stays O(1). A key dropped that way counts
// from zero again, as an expired one does.
//
// One Map of a million keys would hold the event loop for hundreds of
// milliseconds each time V8 rebuilds its table (measured here: 350-500 ms;
// every use takes a new slot, so that comes round every million uses). So
// keys are spread by hash over shards of at most SHARD_KEYS, each a Map
// with its own share of max_keys and its own LRU order: a rebuild then
// copies one shard (under 5 ms).
import { CounterStore } from './types'

interface Entry {
  value: string | number
  expires: number
}

/** [store] max_keys when none is given (the setting's default). */
export const DEFAULT_MAX_KEYS = 1_000_000
/** Keys per shard at most, so that rebuilding one shard's table stays short. */
const SHARD_KEYS = 16_384
const MAX_SHARDS = 1024
/** Keys looked at per turn of the event loop by the sweep, so that a full store never holds the loop for long. */
const SWEEP_SLICE = 10_000
const SWEEP_EVERY_MS = 60_000
/** A replaced store stays open this long for the operations under way. */
const RETIRE_GRACE_MS = 5000

/** A power of two, enough shards of SHARD_KEYS for maxKeys. */
function shardCount(maxKeys: number): number {
  let n = 1
  while (n < MAX_SHARDS && n * SHARD_KEYS < maxKeys) n *= 2
  return n
}

/** FNV-1a over the key's UTF-16 units: spreads keys over the shards. */
function hash(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export class MemoryStore implements CounterStore {
  readonly backend = 'memory'
  private readonly shards: Array<Map<string, Entry>>
  /** Keys each shard keeps at most: its share of maxKeys. */
  private readonly perShard: number
  private readonly sweeper: NodeJS.Timeout
  private sweeping = false
  private closed = false
  /**
   * Connections open, by key: bounded by the connections the process holds,
   * so outside max_keys and never evicted.
   */
  private readonly open = new Map<string, Set<string>>()
  /** Keys dropped to stay within maxKeys, since the start. */
  evicted = 0

  constructor(
    private readonly now: () => number = Date.now,
    maxKeys: number = DEFAULT_MAX_KEYS,
  ) {
    const n = shardCount(maxKeys)
    this.shards = Array.from({ length: n }, () => new Map<string, Entry>())
    this.perShard = Math.max(1, Math.ceil(maxKeys / n))
    // Expired keys are dropped when read and by this sweep, so keys of
    // clients that never come back do not pile up.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS)
    this.sweeper.unref()
  }

  private shard(key: string): Map<string, Entry> {
    return this.shards.length === 1 ? this.shards[0] : this.shards[hash(key) & (this.shards.length - 1)]
  }

  private live(key: string): Entry | undefined {
    const map = this.shard(key)
    const e = map.get(key)
    if (e === undefined) return undefined
    map.delete(key)
    if (e.expires <= this.now()) return undefined
    // Used now: to the end of the order.
    map.set(key, e)
    return e
  }

  private set(key: string, entry: Entry): void {
    const map = this.shard(key)
    map.delete(key)
    map.set(key, entry)
    if (map.size <= this.perShard) return
    const oldest = map.keys().next()
    if (!oldest.done) {
      map.delete(oldest.value)
      this.evicted++
    }
  }

  private remove(key: string): void {
    this.shard(key).delete(key)
  }

  /**
   * Drops expired keys, a slice at a time (run by the store's timer); each
   * round looks at as many keys as each shard held when the round reached it.
   */
  sweep(): void {
    if (this.sweeping || this.closed) return
    this.sweeping = true
    let shard = 0
    let entries = this.shards[0].entries()
    let left = this.shards[0].size
    const slice = (): void => {
      const t = this.now()
      for (let n = 0; n < SWEEP_SLICE && shard < this.shards.length; n++) {
        const next = left > 0 ? entries.next() : undefined
        if (!next || next.done) {
          if (++shard < this.shards.length) {
            entries = this.shards[shard].entries()
            left = this.shards[shard].size
          }
          continue
        }
        left--
        const [k, e] = next.value
        if (e.expires <= t) this.shards[shard].delete(k)
      }
      if (shard < this.shards.length && !this.closed) setImmediate(slice)
      else this.sweeping = false
    }
    slice()
  }

  /** Keys held now, expired ones not yet dropped included. */
  get held(): number {
    return this.shards.reduce((n, map) => n + map.size, 0)
  }

  /** Keys held, expired ones not counted (a full pass: for tests and tools). */
  get size(): number {
    const t = this.now()
    for (const map of this.shards) for (const [k, e] of map) if (e.expires <= t) map.delete(k)
    return this.held
  }

  async incr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) + by
    this.set(key, { value, expires: this.now() + ttlSec * 1000 })
    return value
  }

  async decr(key: string, by: number, ttlSec: number): Promise<number> {
    const value = Number(this.live(key)?.value ?? 0) - by
    if (value <= 0) {
      this.remove(key)
      return 0
    }
    this.set(key, { value, expires: this.now() + ttlSec * 1000 })
    return value
  }

  async join(key: string, member: string): Promise<number> {
    let members = this.open.get(key)
    if (!members) this.open.set(key, (members = new Set()))
    members.add(member)
    return members.size
  }

  async leave(key: string, member: string): Promise<void> {
    const members = this.open.get(key)
    if (!members) return
    members.delete(member)
    if (!members.size) this.open.delete(key)
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

  /** Operations already under way finish first; the connections it counted end with the process's counts. */
  retire(): void {
    setTimeout(() => void this.close().catch(() => undefined), RETIRE_GRACE_MS).unref()
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    for (const map of this.shards) map.clear()
    this.open.clear()
  }
}
