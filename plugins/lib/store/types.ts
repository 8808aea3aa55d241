// The counter store: concurrency, rates and first-seen times. Every
// operation is one round trip and every key expires by itself, so a node that
// dies leaves nothing stuck for longer than the key's lifetime.

export interface CounterStore {
  readonly backend: 'memory' | 'redis'
  /** Adds `by` and (re)sets the key's lifetime; resolves to the new value. */
  incr(key: string, by: number, ttlSec: number): Promise<number>
  /** Subtracts `by`, never below zero (the key goes at zero); resolves to the new value. */
  decr(key: string, by: number, ttlSec: number): Promise<number>
  /**
   * Counts something open right now (a connection) under key, shared by
   * every process using the store, and resolves to how many are open. The
   * same member joining twice counts once; a process that dies stops
   * counting within [store] heartbeat seconds (Redis) or takes its members
   * with it (memory).
   */
  join(key: string, member: string): Promise<number>
  /** Takes the member back; nothing happens when it is not counted. */
  leave(key: string, member: string): Promise<void>
  /** Current values, 0 for missing keys. */
  get(keys: string[]): Promise<number[]>
  /** Stores value unless the key exists; resolves to the value now stored, and renews its lifetime. */
  setIfAbsent(key: string, value: string, ttlSec: number): Promise<string>
  /** Stores a value (a cached answer) for ttlSec. */
  put(key: string, value: string, ttlSec: number): Promise<void>
  /** A stored value, or undefined. */
  fetch(key: string): Promise<string | undefined>
  close(): Promise<void>
  /**
   * Replaced by a store with new settings: closes once the operations under
   * way are done and (Redis) the connections it counts have left, so that
   * they stay counted and renewed until they end.
   */
  retire(): void
}

/** Thrown when the store cannot answer in time; callers let the mail through. */
export class StoreUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StoreUnavailable'
  }
}

export interface StoreLogger {
  logwarn(msg: string): void
  loginfo(msg: string): void
}
