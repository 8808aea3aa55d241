// store/: counters shared by the connections of a node or of many nodes: the
// memory store, the Redis store, and the sliding-window rate on top of either.
//
// May import: codes.
import { CodeCounters } from '../codes/counters'
import { MemoryStore } from './memory'
import { RedisEndpoint, RedisStore } from './redis'
import { CounterStore, StoreLogger } from './types'

export type { CounterStore } from './types'
export { StoreUnavailable } from './types'

/**
 * redis.ini as haraka-plugin-redis reads it: [server] host, port (or path /
 * socket for a unix socket), database; [opts] database, username, password.
 */
export function redisEndpoint(ini: Record<string, Record<string, unknown> | undefined> | undefined): RedisEndpoint {
  const server = { ...(ini?.opts ?? {}), ...(ini?.server ?? {}) } as Record<string, unknown>
  const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v))
  const num = (v: unknown): number | undefined => (str(v) === undefined || !Number.isFinite(Number(v)) ? undefined : Number(v))
  return {
    host: str(server.host ?? server.ip),
    port: num(server.port),
    path: str(server.path ?? server.socket),
    database: num(server.database ?? server.db),
    username: str(server.username),
    password: str(server.password),
  }
}

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

  /** maxKeys: [store] max_keys, the memory backend's cap. */
  get(backend: 'memory' | 'redis', endpoint: RedisEndpoint, timeoutSec: number, log: StoreLogger, maxKeys?: number): CounterStore {
    const signature = JSON.stringify([backend, backend === 'redis' ? endpoint : null, timeoutSec, backend === 'memory' ? maxKeys ?? null : null])
    if (this.current?.signature === signature) return this.current.store
    const old = this.current?.store
    const store = backend === 'redis' ? new RedisStore(endpoint, Math.round(timeoutSec * 1000), log, this.counters) : new MemoryStore(Date.now, maxKeys)
    this.current = { signature, store }
    // Operations already under way on the old store finish first.
    if (old) setTimeout(() => void old.close().catch(() => undefined), 5000).unref()
    return store
  }

  /** Closes the store in use (a test's registry, at its end). */
  async close(): Promise<void> {
    const store = this.current?.store
    this.current = undefined
    await store?.close()
  }
}
