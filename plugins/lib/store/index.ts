// store/: counters shared by the connections of a node or of many nodes: the
// memory store, the Redis store, and the sliding-window rate on top of either.
//
// May import: codes.
import { CodeCounters } from '../codes/counters'
import { MemoryStore } from './memory'
import { RedisStore } from './redis'
import { RedisTarget } from './redis-target'
import { CounterStore, StoreLogger } from './types'

export type { CounterStore } from './types'
export { StoreUnavailable } from './types'
export { redisTarget, describeTarget } from './redis-target'
export type { RedisTarget } from './redis-target'

/**
 * The counter store of a Haraka process, shared by the four plugins (one
 * Redis connection, one memory store): rebuilt when its settings change (a
 * reload of support-codes.ini or redis.ini). The process's one registry is
 * in haraka/process.ts; a test makes its own.
 */
export class StoreRegistry {
  private current: { signature: string; store: CounterStore } | undefined

  /** @param counters where the Redis store counts what it let through (the process's counters). */
  constructor(private readonly counters: CodeCounters) {}

  /** maxKeys: [store] max_keys, the memory backend's cap; heartbeatSec: [store] heartbeat, the Redis backend's member lifetime. */
  get(backend: 'memory' | 'redis', target: RedisTarget, timeoutSec: number, log: StoreLogger, maxKeys?: number, heartbeatSec = 30): CounterStore {
    const redis = backend === 'redis'
    const signature = JSON.stringify([backend, redis ? target : null, timeoutSec, redis ? heartbeatSec : maxKeys ?? null])
    if (this.current?.signature === signature) return this.current.store
    const old = this.current?.store
    const store = redis ? new RedisStore(target, Math.round(timeoutSec * 1000), heartbeatSec, log, this.counters) : new MemoryStore(Date.now, maxKeys)
    this.current = { signature, store }
    old?.retire()
    return store
  }

  /** Closes the store in use (a test's registry, at its end). */
  async close(): Promise<void> {
    const store = this.current?.store
    this.current = undefined
    await store?.close()
  }
}
