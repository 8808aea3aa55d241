// The shared store: one Redis, a Redis Cluster or a Sentinel set for every
// worker and node of a fleet, so the limits hold across all of them. Each
// operation is one command (a script or one plain command) on keys of one
// hash slot. When Redis is down or slow, operations fail within `timeoutMs`
// instead of queueing, the caller lets the mail through, the log says so
// once per outage, and the client keeps reconnecting in the background.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { CodeCounters } from '../codes/counters'
import { slotGroup } from './keys'
import { openLink, RedisLink, Reply } from './redis-link'
import { DECR, INCR, JOIN, RENEW, Script, SET_IF_ABSENT } from './redis-scripts'
import { describeTarget, RedisTarget } from './redis-target'
import { CounterStore, StoreLogger, StoreUnavailable } from './types'

/** Members renewed per RENEW call at most (a client with more open connections takes several). */
const RENEW_BATCH = 500
/**
 * Commands sent and not yet answered, at most. The client may keep a command
 * that timed out here (retrying it while a Sentinel set fails over); past
 * this many, commands fail at once, so that an outage under heavy traffic
 * cannot pile them up in memory.
 */
const MAX_IN_FLIGHT = 10_000
/**
 * A link still connecting just after the process started is not an outage yet:
 * mail that comes first is let through and counted, and the log says so
 * once connected (or declares an outage if it is still not, past this).
 */
const STARTUP_GRACE_MS = 2000
/** A replaced store stays open at least this long, for the operations under way. */
const RETIRE_GRACE_MS = 5000
/** ... and at most this long for the connections it counts to leave. */
const RETIRE_MAX_MS = 3_600_000
/** An outage is over at the first success this long after its last failure (a cluster with one master down fails some commands and not others). */
const QUIET_MS = 1000

interface Pending {
  keys: string[]
  resolve: (values: number[]) => void
  reject: (err: unknown) => void
}

export class RedisStore implements CounterStore {
  readonly backend = 'redis'
  private readonly link: RedisLink
  private readonly where: string
  private down = false
  private lastFailure = 0
  /** Commands that failed for want of Redis since it went down. */
  private missed = 0
  private closed = false
  /** This process in connection members: host, pid and a random part. */
  readonly processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  /** The members this process has open, by set: renewed until they leave. */
  private readonly open = new Map<string, Set<string>>()
  private renewer: NodeJS.Timeout | undefined
  /** Reads asked for in this turn of the event loop, sent together. */
  private reads: Pending[] | undefined
  private lastError = ''
  private readonly born = Date.now()
  /** Connected once since the store was made. */
  private everReady = false
  /** Commands sent and not settled by the client yet. */
  private inFlight = 0

  constructor(
    readonly target: RedisTarget,
    private readonly timeoutMs: number,
    /** Seconds a member lives unless renewed ([store] heartbeat). */
    private readonly heartbeatSec: number,
    private readonly log: StoreLogger,
    /** Where the operations that let mail through for want of Redis are counted: the process's counters. */
    private readonly counters: CodeCounters,
  ) {
    this.where = describeTarget(target)
    this.link = openLink(target)
    this.link.onError((err) => {
      this.lastError = err.message
      // One Redis: a lost connection is an outage at once. A cluster or a
      // Sentinel set says so through the commands that fail.
      if (target.kind === 'server') this.failed(err.message)
    })
    this.link.onReady(() => {
      this.connected()
      if (target.kind === 'server') this.recovered()
    })
  }

  /** True once connected; false when timeoutMs passes first (a one-off reader waits for the connection; mail never does). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.link.isReady) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.link.isReady), timeoutMs)
      this.link.onReady(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  private failed(why: string): void {
    this.lastFailure = Date.now()
    if (this.down || this.closed) return
    if (!this.everReady && Date.now() - this.born < STARTUP_GRACE_MS) return
    this.down = true
    this.log.logwarn(`${this.where}: ${why}; checks that need the store let mail through until it is back`)
  }

  private connected(): void {
    if (this.everReady) return
    this.everReady = true
    if (this.missed && !this.down) {
      this.log.loginfo(`${this.where} connected; ${this.missed} store operation(s) let mail through while it was connecting [fail-open store #${this.counters.failOpenCounts().store ?? 0}]`)
      this.missed = 0
    }
  }

  private recovered(): void {
    if (!this.down || this.closed) return
    this.down = false
    this.log.loginfo(`${this.where} is back; checks that count use it again (${this.missed} store operation(s) let mail through meanwhile) [fail-open store #${this.counters.failOpenCounts().store ?? 0}]`)
    this.missed = 0
  }

  // Each command that fails for want of Redis lets a check pass: counted (docs/fail-open.md).
  private unavailable(why: string): StoreUnavailable {
    this.missed++
    this.counters.countFailOpen('store')
    this.failed(why)
    return new StoreUnavailable(`${this.where}: ${why}`)
  }

  private async run(key: string | undefined, args: string[]): Promise<Reply> {
    if (this.target.kind === 'server' && !this.link.isReady) throw this.unavailable(`not connected${this.lastError ? ` (${this.lastError})` : ''}`)
    if (this.inFlight >= MAX_IN_FLIGHT) throw this.unavailable(`${this.inFlight} commands unanswered`)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs)
    })
    try {
      let sent: Promise<Reply>
      try {
        sent = this.link.send(key, args)
      } catch (err) {
        sent = Promise.reject(err)
      }
      this.inFlight++
      sent.then(() => this.inFlight--, () => this.inFlight--)
      const reply = await Promise.race([sent, timeout])
      if (!this.everReady) this.connected()
      if (this.down && Date.now() - this.lastFailure >= QUIET_MS) this.recovered()
      return reply
    } catch (err) {
      if (err instanceof StoreUnavailable) throw err
      const message = err instanceof Error ? err.message : String(err)
      // A script Redis has not seen yet is not an outage.
      if (/NOSCRIPT/.test(message)) throw err
      throw this.unavailable(message)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Runs a script by its digest, and sends the script itself when Redis does
   * not know it (first use on a Redis, after its restart or a failover).
   * Scripts whose arguments can change meanwhile (which connections are
   * open) give them as a function, asked again for the second send: a leave
   * sent in between must not be undone by a join or renewal that was
   * waiting. undefined there: nothing to send any more.
   */
  private async script(s: Script, key: string, ...args: string[]): Promise<Reply>
  private async script(s: Script, key: string, args: () => string[] | undefined): Promise<Reply>
  private async script(s: Script, key: string, ...rest: Array<string | (() => string[] | undefined)>): Promise<Reply> {
    const now = (): string[] | undefined => (typeof rest[0] === 'function' ? rest[0]() : rest.map(String))
    const first = now()
    if (!first) return null
    try {
      return await this.run(key, ['EVALSHA', s.sha, '1', key, ...first])
    } catch (err) {
      if (!(err instanceof Error) || !/NOSCRIPT/.test(err.message)) throw err
      const again = now()
      if (!again) return null
      return await this.run(key, ['EVAL', s.text, '1', key, ...again])
    }
  }

  async incr(key: string, by: number, ttlSec: number): Promise<number> {
    return Number(await this.script(INCR, key, String(by), String(Math.ceil(ttlSec))))
  }

  async decr(key: string, by: number, ttlSec: number): Promise<number> {
    return Number(await this.script(DECR, key, String(by), String(Math.ceil(ttlSec))))
  }

  private get lifetimeMs(): number {
    return Math.max(1000, Math.round(this.heartbeatSec * 1000))
  }

  async join(key: string, member: string): Promise<number> {
    // Renewed from now on even if this add times out but lands, so that the
    // matching leave always finds it and nothing is counted for good.
    let members = this.open.get(key)
    if (!members) this.open.set(key, (members = new Set()))
    members.add(member)
    this.startRenewing()
    const id = `${this.processId}|${member}`
    return Number(await this.script(JOIN, key, () => (this.open.get(key)?.has(member) ? [id, String(this.lifetimeMs)] : undefined)))
  }

  async leave(key: string, member: string): Promise<void> {
    const members = this.open.get(key)
    members?.delete(member)
    if (members?.size === 0) this.open.delete(key)
    await this.run(key, ['ZREM', key, `${this.processId}|${member}`])
  }

  private retireTimer: NodeJS.Timeout | undefined

  /**
   * Replaced by a store with new settings (a reload): the connections this
   * one counts keep their link, renewed, until they leave (looked at every
   * RETIRE_GRACE_MS); then, once the operations under way had as long again,
   * it closes.
   */
  retire(): void {
    if (this.retireTimer || this.closed) return
    const started = Date.now()
    const check = (): void => {
      const done = !this.open.size || Date.now() - started >= RETIRE_MAX_MS
      this.retireTimer = setTimeout(done ? () => void this.close().catch(() => undefined) : check, RETIRE_GRACE_MS).unref()
    }
    this.retireTimer = setTimeout(check, RETIRE_GRACE_MS).unref()
  }

  private startRenewing(): void {
    if (this.renewer || this.closed) return
    this.renewer = setInterval(() => this.renew(), Math.max(300, Math.floor(this.lifetimeMs / 3)))
    this.renewer.unref()
  }

  /** Renews this process's open members, one call per set (and per RENEW_BATCH members). */
  private renew(): void {
    if (!this.open.size) {
      clearInterval(this.renewer)
      this.renewer = undefined
      return
    }
    for (const [key, members] of this.open) {
      for (let i = 0; i < members.size; i += RENEW_BATCH) {
        // The members still open when each send goes out.
        const batch = (): string[] | undefined => {
          const open = [...(this.open.get(key) ?? [])].slice(i, i + RENEW_BATCH)
          return open.length ? [String(this.lifetimeMs), ...open.map((m) => `${this.processId}|${m}`)] : undefined
        }
        this.script(RENEW, key, batch).catch(() => undefined)
      }
    }
  }

  /**
   * Reads asked for in one turn of the event loop go out together: one MGET
   * per hash slot on a cluster (store/keys.ts puts the keys read together in
   * one), one MGET in all otherwise.
   */
  get(keys: string[]): Promise<number[]> {
    if (!keys.length) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      if (!this.reads) {
        this.reads = []
        queueMicrotask(() => this.sendReads())
      }
      this.reads.push({ keys, resolve, reject })
    })
  }

  private sendReads(): void {
    const reads = this.reads ?? []
    this.reads = undefined
    // On a cluster a read goes to the slot of its keys; elsewhere all go in one.
    const groupOf = (k: string): string => (this.target.kind === 'cluster' ? slotGroup(k) : '')
    const groups = new Map<string, Set<string>>()
    for (const r of reads) {
      for (const k of r.keys) {
        const g = groupOf(k)
        let set = groups.get(g)
        if (!set) groups.set(g, (set = new Set()))
        set.add(k)
      }
    }
    const values = new Map<string, number>()
    const failures = new Map<string, unknown>()
    const sent = [...groups].map(async ([g, set]) => {
      const keys = [...set]
      try {
        const reply = await this.run(keys[0], ['MGET', ...keys])
        const list = Array.isArray(reply) ? reply : []
        keys.forEach((k, i) => values.set(k, Number(list[i] ?? 0)))
      } catch (err) {
        failures.set(g, err)
      }
    })
    void Promise.all(sent).then(() => {
      for (const r of reads) {
        const failed = r.keys.map((k) => failures.get(groupOf(k))).find((e) => e !== undefined)
        if (failed !== undefined) r.reject(failed)
        else r.resolve(r.keys.map((k) => values.get(k) ?? 0))
      }
    })
  }

  async setIfAbsent(key: string, value: string, ttlSec: number): Promise<string> {
    return String(await this.script(SET_IF_ABSENT, key, value, String(Math.ceil(ttlSec))))
  }

  async put(key: string, value: string, ttlSec: number): Promise<void> {
    await this.run(key, ['SET', key, value, 'EX', String(Math.max(1, Math.ceil(ttlSec)))])
  }

  async fetch(key: string): Promise<string | undefined> {
    const v = await this.run(key, ['GET', key])
    return v === null ? undefined : String(v)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retireTimer)
    clearInterval(this.renewer)
    this.renewer = undefined
    await this.link.close()
  }
}
