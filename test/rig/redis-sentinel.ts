// A Redis Sentinel set on loopback for the rig: one master, its replicas and
// the sentinels watching them, each a private process with a free port and a
// temp dir, no persistence, reaped with the test process. down-after is
// short so that a killed master is replaced in seconds.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Redis, Reply, freePorts, redisCommand } from './redis'
import { RigServer } from './rig-server'
import { waitFor } from './wait'

const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 30_000
const POLL_MS = 50
const PROBE_KEY = 'rig:failover-probe'

// Debian's redis-sentinel is redis-server started under that name.
const SENTINEL_BIN = fs.existsSync('/usr/bin/redis-sentinel') ? '/usr/bin/redis-sentinel' : undefined
const SERVER_BIN = fs.existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server'

type SentinelSettings = { name: string; masterPort: number; downAfterMs: number; failoverTimeoutMs: number }

/** One sentinel process. Its config file is its own: sentinel rewrites it (ids, known replicas and sentinels). */
class Sentinel extends RigServer {
  private readonly conf: string

  private constructor(
    dir: string,
    readonly port: number,
    settings: SentinelSettings,
  ) {
    super(dir)
    this.conf = path.join(dir, 'sentinel.conf')
    const { name, masterPort, downAfterMs, failoverTimeoutMs } = settings
    fs.writeFileSync(
      this.conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        // Loopback only already; protected mode would refuse nothing here but
        // is named so that no default changes that.
        'protected-mode no',
        `dir ${dir}`,
        'daemonize no',
        'logfile ""',
        'loglevel warning',
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
  }

  static async start(port: number, settings: SentinelSettings): Promise<Sentinel> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-sentinel-'))
    try {
      const s = new Sentinel(dir, port, settings)
      await s.launch()
      return s
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  protected async launch(): Promise<void> {
    if (SENTINEL_BIN) await this.spawnAndWait('redis-sentinel', SENTINEL_BIN, [this.conf])
    else await this.spawnAndWait('redis-sentinel', SERVER_BIN, [this.conf, '--sentinel'])
  }

  protected async ping(): Promise<boolean> {
    try {
      return (await redisCommand(this.port, ['PING'], HOST)) === 'PONG'
    } catch {
      return false
    }
  }
}

function infoField(info: Reply, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(String(info))
  return m?.[1].trim()
}

/** SENTINEL REPLICAS / SENTINELS entries (flat key, value lists) as objects. */
function entries(r: Reply): Array<Record<string, string>> {
  if (!Array.isArray(r)) return []
  return r.map((e) => {
    const o: Record<string, string> = {}
    if (Array.isArray(e)) for (let i = 0; i + 1 < e.length; i += 2) o[String(e[i])] = String(e[i + 1])
    return o
  })
}

function healthy(e: Record<string, string>): boolean {
  const flags = (e.flags ?? '').split(',')
  return !flags.some((f) => f === 's_down' || f === 'o_down' || f === 'disconnected')
}

export class RedisSentinelSet {
  /** "127.0.0.1:s1,..." every sentinel, for redis.ini [sentinel] nodes. */
  readonly sentinels: string
  private readonly servers: Map<number, Redis>
  private readonly sentinelProcs: Map<number, Sentinel>
  private readonly killedAt = new Map<number, number>()

  private constructor(
    readonly name: string,
    servers: Redis[],
    sentinels: Sentinel[],
  ) {
    this.servers = new Map(servers.map((s) => [s.port, s]))
    this.sentinelProcs = new Map(sentinels.map((s) => [s.port, s]))
    this.sentinels = sentinels.map((s) => `${HOST}:${s.port}`).join(',')
  }

  /** The redis-servers' ports: the first master, then the replicas. */
  get serverPorts(): number[] {
    return [...this.servers.keys()]
  }

  /** The sentinels' ports. */
  get sentinelPorts(): number[] {
    return [...this.sentinelProcs.keys()]
  }

  static async start(opts: { replicas?: number; sentinels?: number; name?: string; downAfterMs?: number } = {}): Promise<RedisSentinelSet> {
    const replicas = opts.replicas ?? 2
    const count = opts.sentinels ?? 3
    const name = opts.name ?? 'mymaster'
    const downAfterMs = opts.downAfterMs ?? 1000
    const ports = await freePorts(1 + replicas + count)
    const servers: Redis[] = []
    const sentinels: Sentinel[] = []
    const keep = async <T>(list: T[], starts: Array<Promise<T>>): Promise<void> => {
      const r = await Promise.allSettled(starts)
      for (const x of r) if (x.status === 'fulfilled') list.push(x.value)
      const failed = r.find((x) => x.status === 'rejected')
      if (failed) throw failed.reason
    }
    try {
      const masterPort = ports[0]
      // A replica's first sync starts at once, not after the 5 s default.
      const args = ['--repl-diskless-sync-delay', '0']
      await keep(servers, [Redis.start({ port: masterPort, args })])
      await keep(
        servers,
        ports.slice(1, 1 + replicas).map((port) => Redis.start({ port, args: [...args, '--replicaof', HOST, String(masterPort)] })),
      )
      // Sentinels learn the replicas from the master's INFO: links up first.
      // The master's word, as a replica may say its link is up before its first snapshot.
      await waitFor('the replicas to sync with the master', async () => {
        const states = [...String(await servers[0].command('INFO', 'replication')).matchAll(/^slave\d+:.*\bstate=(\w+)/gm)]
        return states.length === replicas && states.every((m) => m[1] === 'online')
      }, START_TIMEOUT_MS, POLL_MS)
      // A failover that loses its election is retried after twice this.
      const settings = { name, masterPort, downAfterMs, failoverTimeoutMs: 3 * downAfterMs }
      await keep(sentinels, ports.slice(1 + replicas).map((port) => Sentinel.start(port, settings)))
      const set = new RedisSentinelSet(name, servers, sentinels)
      await set.waitAware(replicas, START_TIMEOUT_MS)
      return set
    } catch (err) {
      await RedisSentinelSet.stopAll(servers, sentinels)
      throw err
    }
  }

  /** One command to the server or sentinel at port. */
  command(port: number, ...args: string[]): Promise<Reply> {
    return redisCommand(port, args, HOST)
  }

  private liveSentinels(): number[] {
    return this.sentinelPorts.filter((p) => !this.killedAt.has(p))
  }

  /** The master's port as a sentinel names it (the first that answers). */
  async master(): Promise<number> {
    let last: unknown
    for (const port of this.liveSentinels()) {
      try {
        return await this.masterSeenBy(port)
      } catch (err) {
        last = err
      }
    }
    throw new Error('redis sentinel: no sentinel named the master', { cause: last })
  }

  private async masterSeenBy(sentinel: number): Promise<number> {
    const r = await this.command(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)
    if (!Array.isArray(r) || r.length !== 2) throw new Error(`redis sentinel ${sentinel}: no master named ${this.name}`)
    return Number(r[1])
  }

  /** SIGKILL the server or sentinel at port; the time is kept for waitForFailover. */
  async killNode(port: number): Promise<void> {
    await this.process(port).kill()
    this.killedAt.set(port, Date.now())
  }

  /**
   * Resolves with the milliseconds from killNode(oldMasterPort) until every
   * live sentinel names one new master, which answers ROLE as master and
   * takes a write.
   */
  async waitForFailover(oldMasterPort: number, timeoutMs: number): Promise<number> {
    const killed = this.killedAt.get(oldMasterPort)
    if (killed === undefined) throw new Error(`redis sentinel: ${oldMasterPort} was not killed`)
    await waitFor(`the sentinels to replace master ${oldMasterPort}`, async () => {
      try {
        const named = new Set<number>()
        for (const s of this.liveSentinels()) named.add(await this.masterSeenBy(s))
        if (named.size !== 1) return false
        const [port] = named
        if (port === oldMasterPort) return false
        const role = await this.command(port, 'ROLE')
        if (!Array.isArray(role) || role[0] !== 'master') return false
        return (await this.command(port, 'SET', PROBE_KEY, String(killed))) === 'OK'
      } catch {
        return false
      }
    }, timeoutMs, POLL_MS)
    const ms = Date.now() - killed
    // The probe is not a counter: keys() and the tests' counts must not see it.
    await this.command(await this.master(), 'DEL', PROBE_KEY)
    return ms
  }

  /**
   * Starts a killed server or sentinel again. A server comes back as a
   * replica of the current master (the sentinels reconfigure an old master);
   * resolves once its replication link is up.
   */
  async restartNode(port: number): Promise<void> {
    const proc = this.process(port)
    await proc.restart()
    this.killedAt.delete(port)
    if (!(proc instanceof Redis)) return
    await waitFor(`${port} to come back as a replica`, async () => {
      try {
        const info = await proc.command('INFO', 'replication')
        return infoField(info, 'role') === 'slave' && infoField(info, 'master_link_status') === 'up'
      } catch {
        return false
      }
    }, START_TIMEOUT_MS, POLL_MS)
  }

  /** FLUSHALL on the master. */
  async flushAll(): Promise<void> {
    await this.command(await this.master(), 'FLUSHALL')
  }

  /** KEYS pattern on the master. */
  async keys(pattern: string): Promise<string[]> {
    const r = await this.command(await this.master(), 'KEYS', pattern)
    return Array.isArray(r) ? r.map(String) : []
  }

  async stop(): Promise<void> {
    await RedisSentinelSet.stopAll([...this.servers.values()], [...this.sentinelProcs.values()])
  }

  /** The process's output, for a failure message. */
  log(port: number): string {
    return this.process(port).log()
  }

  private static async stopAll(servers: Redis[], sentinels: Sentinel[]): Promise<void> {
    // Sentinels first, so that none starts a failover while the servers stop.
    await Promise.all(sentinels.map((s) => s.stop()))
    await Promise.all(servers.map((s) => s.stop()))
  }

  private process(port: number): Redis | Sentinel {
    const p = this.servers.get(port) ?? this.sentinelProcs.get(port)
    if (!p) throw new Error(`redis sentinel set: nothing on port ${port}`)
    return p
  }

  /** Waits until every sentinel knows the master, all replicas and the other sentinels. */
  private async waitAware(replicas: number, timeoutMs: number): Promise<void> {
    const others = this.sentinelProcs.size - 1
    let seen = ''
    try {
      await waitFor('every sentinel to know the master, its replicas and the other sentinels', async () => {
        for (const s of this.liveSentinels()) {
          try {
            const master = await this.masterSeenBy(s)
            const r = entries(await this.command(s, 'SENTINEL', 'REPLICAS', this.name)).filter(healthy).length
            const o = entries(await this.command(s, 'SENTINEL', 'SENTINELS', this.name)).filter(healthy).length
            seen = `sentinel ${s}: master ${master}, ${r} replicas, ${o} other sentinels`
            if (r !== replicas || o !== others) return false
          } catch (err) {
            seen = `sentinel ${s}: ${(err as Error).message}`
            return false
          }
        }
        return true
      }, timeoutMs, POLL_MS * 2)
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${seen}`, { cause: err })
    }
  }
}
