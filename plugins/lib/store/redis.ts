// The shared store: one Redis for every worker and node of a cluster, so the
// limits hold across all of them. Each operation is one round trip (a Lua
// script or one command). When Redis is down or slow, operations fail within
// `timeoutMs` instead of queueing, the caller lets the mail through, and the
// client keeps reconnecting in the background.
import { createHash, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { createClient } from '@redis/client'
import { CodeCounters } from '../codes/counters'
import { CounterStore, StoreLogger, StoreUnavailable } from './types'

// KEYS[1] key, ARGV[1] amount, ARGV[2] lifetime in seconds.
const INCR = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return v`
// Never below zero: a Redis restarted while connections were open must not
// leave negative counts behind.
const DECR = `local v = redis.call('DECRBY', KEYS[1], ARGV[1])
if v <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return v`
const SET_IF_ABSENT = `local v = redis.call('GET', KEYS[1])
if v then redis.call('EXPIRE', KEYS[1], ARGV[2]) return v end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]`

// A gauge is a hash of per-process counts. KEYS[1] the hash, ARGV[1] this
// process, ARGV[2] delta, ARGV[3] lifetime, ARGV[4] the heartbeat key prefix.
// Counts of processes whose heartbeat has lapsed (a node that died with
// connections open) are dropped here, so they never hold a client back for
// longer than a heartbeat lifetime.
const GAUGE = `local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  local f, v = all[i], tonumber(all[i + 1])
  if v <= 0 then redis.call('HDEL', KEYS[1], f)
  elseif f ~= ARGV[1] and redis.call('EXISTS', ARGV[4] .. f) == 0 then redis.call('HDEL', KEYS[1], f)
  else total = total + v end
end
if redis.call('HLEN', KEYS[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return total`

const HEARTBEAT_PREFIX = 'sc:alive:'
const HEARTBEAT_TTL = 30
const HEARTBEAT_EVERY_MS = 10_000

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex')
const SHA: Record<string, string> = { [INCR]: sha1(INCR), [DECR]: sha1(DECR), [SET_IF_ABSENT]: sha1(SET_IF_ABSENT), [GAUGE]: sha1(GAUGE) }

export interface RedisEndpoint {
  host?: string
  port?: number
  /** Unix socket path; wins over host and port. */
  path?: string
  database?: number
  username?: string
  password?: string
}

export class RedisStore implements CounterStore {
  readonly backend = 'redis'
  private readonly client: ReturnType<typeof createClient>
  private down = false
  /** Commands that failed for want of Redis since it went down. */
  private missed = 0
  private closed = false
  /** This process in gauges: host, pid and a random part. */
  readonly processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  private heartbeat: NodeJS.Timeout | undefined

  constructor(
    readonly endpoint: RedisEndpoint,
    private readonly timeoutMs: number,
    private readonly log: StoreLogger,
    /** Where the operations that let mail through for want of Redis are counted: the process's counters. */
    private readonly counters: CodeCounters,
  ) {
    const where = endpoint.path ?? `${endpoint.host ?? '127.0.0.1'}:${endpoint.port ?? 6379}`
    this.client = createClient({
      socket: endpoint.path
        ? { path: endpoint.path, connectTimeout: 2000, reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000) }
        : {
            host: endpoint.host ?? '127.0.0.1', port: endpoint.port ?? 6379, connectTimeout: 2000,
            reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
          },
      database: endpoint.database,
      username: endpoint.username,
      password: endpoint.password,
      // A command given while Redis is away fails at once rather than
      // waiting in a queue: mail must not wait for Redis.
      disableOfflineQueue: true,
    })
    this.client.on('error', (err: Error) => this.markDown(`redis ${where}: ${err.message}`))
    this.client.on('ready', () => {
      if (this.down) {
        this.log.loginfo(`redis ${where} is back; checks that count use it again (${this.missed} store operation(s) let mail through meanwhile) [fail-open store #${this.counters.failOpenCounts().store ?? 0}]`)
      }
      this.down = false
      this.missed = 0
    })
    this.client.connect().catch((err: Error) => this.markDown(`redis ${where}: ${err.message}`))
  }

  /** True once connected; false when timeoutMs passes first (a one-off reader waits for the connection; mail never does). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.client.isReady) return Promise.resolve(true)
    return new Promise((resolve) => {
      const on = (): void => {
        clearTimeout(timer)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.client.off('ready', on)
        resolve(false)
      }, timeoutMs)
      this.client.once('ready', on)
    })
  }

  private markDown(message: string): void {
    if (this.down || this.closed) return
    this.down = true
    this.log.logwarn(`${message}; checks that need the store let mail through until it is back`)
  }

  // Each command that fails for want of Redis lets a check pass: counted (docs/fail-open.md).
  private unavailable(why: string): StoreUnavailable {
    this.missed++
    this.counters.countFailOpen('store')
    return new StoreUnavailable(why)
  }

  private async run<T>(args: string[]): Promise<T> {
    if (!this.client.isReady) throw this.unavailable('redis is not connected')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(`redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs)
    })
    try {
      return await Promise.race([this.client.sendCommand(args) as Promise<T>, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  private async script<T>(script: string, key: string, ...args: string[]): Promise<T> {
    try {
      return await this.run<T>(['EVALSHA', SHA[script], '1', key, ...args])
    } catch (err) {
      if (!(err instanceof Error) || !/NOSCRIPT/.test(err.message)) throw err
      // First use on this Redis (or after its restart): send the script itself.
      return await this.run<T>(['EVAL', script, '1', key, ...args])
    }
  }

  async incr(key: string, by: number, ttlSec: number): Promise<number> {
    return Number(await this.script(INCR, key, String(by), String(Math.ceil(ttlSec))))
  }

  async decr(key: string, by: number, ttlSec: number): Promise<number> {
    return Number(await this.script(DECR, key, String(by), String(Math.ceil(ttlSec))))
  }

  private beat(): Promise<unknown> {
    return this.run(['SET', HEARTBEAT_PREFIX + this.processId, '1', 'EX', String(HEARTBEAT_TTL)])
  }

  async gauge(key: string, delta: number, ttlSec: number): Promise<number> {
    if (!this.heartbeat) {
      // Gauges need this process's heartbeat; started on first use.
      this.heartbeat = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_EVERY_MS)
      this.heartbeat.unref()
      await this.beat()
    }
    return Number(await this.script(GAUGE, key, this.processId, String(delta), String(Math.ceil(ttlSec)), HEARTBEAT_PREFIX))
  }

  async get(keys: string[]): Promise<number[]> {
    if (!keys.length) return []
    const values = await this.run<Array<string | null>>(['MGET', ...keys])
    return values.map((v) => Number(v ?? 0))
  }

  async setIfAbsent(key: string, value: string, ttlSec: number): Promise<string> {
    return String(await this.script(SET_IF_ABSENT, key, value, String(Math.ceil(ttlSec))))
  }

  async put(key: string, value: string, ttlSec: number): Promise<void> {
    await this.run(['SET', key, value, 'EX', String(Math.max(1, Math.ceil(ttlSec)))])
  }

  async fetch(key: string): Promise<string | undefined> {
    const v = await this.run<string | null>(['GET', key])
    return v ?? undefined
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    try {
      if (this.client.isOpen) await this.client.close()
    } catch {
      this.client.destroy()
    }
  }
}
