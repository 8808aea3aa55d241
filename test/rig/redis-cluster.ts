// A Redis Cluster on loopback for the rig: masters and their replicas, each a
// private redis-server (test/rig/redis.ts) with its own free client port and
// cluster bus port, no persistence, reaped with the test process. The node
// timeout is short so that a killed master's replica takes over in seconds.
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import { promisify } from 'node:util'
import { Redis, Reply, freePorts, redisCommand } from './redis'
import { waitFor } from './wait'

const HOST = '127.0.0.1'
const SLOTS = 16384
const START_TIMEOUT_MS = 30_000
const POLL_MS = 50

const REDIS_CLI = fs.existsSync('/usr/bin/redis-cli') ? '/usr/bin/redis-cli' : 'redis-cli'

export type ClusterNode = {
  port: number
  role: 'master' | 'replica'
  id: string
  /** The master's id, for a replica. */
  masterId?: string
  /** Slot ranges [first, last] a master serves. */
  slots?: Array<[number, number]>
  /** Flags other than role and myself: fail, fail?, handshake, noaddr... */
  flags: string[]
  /** connected or disconnected: the cluster bus link as the answering node sees it. */
  link: string
}

/** One CLUSTER NODES line into a node: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...` */
function parseNodeLine(line: string): ClusterNode {
  const f = line.split(' ')
  const port = Number(f[1].split('@')[0].split(':').pop())
  const flags = f[2].split(',')
  const role = flags.includes('master') ? 'master' : 'replica'
  const node: ClusterNode = {
    port,
    role,
    id: f[0],
    flags: flags.filter((x) => x !== 'master' && x !== 'slave' && x !== 'myself'),
    link: f[7],
  }
  if (role === 'replica' && f[3] !== '-') node.masterId = f[3]
  if (role === 'master') {
    // Slots being moved ("[...]") are not served yet.
    node.slots = f.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
      const [a, b] = s.split('-').map(Number)
      return [a, b ?? a]
    })
  }
  return node
}

function serves(node: ClusterNode, slot: number): boolean {
  return (node.slots ?? []).some(([a, b]) => slot >= a && slot <= b)
}

function infoField(info: Reply, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(String(info))
  return m?.[1].trim()
}

/** The state of each replica in a master's INFO replication (slave0:...,state=online,...). */
function replicaStates(info: Reply): string[] {
  return [...String(info).matchAll(/^slave\d+:.*\bstate=(\w+)/gm)].map((m) => m[1])
}

export class RedisCluster {
  /** "127.0.0.1:p1,127.0.0.1:p2,..." every node, for redis.ini [cluster] nodes. */
  readonly seeds: string
  private readonly servers: Map<number, Redis>
  private readonly killedAt = new Map<number, number>()
  // What a master served when it was killed, to know when its slots moved.
  private readonly killedMaster = new Map<number, { id: string; slot: number }>()

  private constructor(
    servers: Redis[],
    private readonly masterCount: number,
  ) {
    this.servers = new Map(servers.map((s) => [s.port, s]))
    this.seeds = servers.map((s) => `${HOST}:${s.port}`).join(',')
  }

  /** Every node's client port, in start order (masters first, as created). */
  get ports(): number[] {
    return [...this.servers.keys()]
  }

  static async start(opts: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
    const masters = opts.masters ?? 3
    const replicas = opts.replicasPerMaster ?? 1
    const nodeTimeout = opts.nodeTimeoutMs ?? 1000
    const n = masters * (1 + replicas)
    // The default bus port is port+10000, past 65535 for a high free port:
    // each node gets a free bus port of its own.
    const ports = await freePorts(2 * n)
    const started = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        Redis.start({
          port: ports[i],
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-port', String(ports[n + i]),
            // Relative: inside the node's temp dir, kept across restartNode.
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(nodeTimeout),
            '--cluster-replica-no-failover', 'no',
            '--cluster-allow-reads-when-down', 'no',
            '--cluster-require-full-coverage', 'yes',
            // A replica's first sync starts at once, not after the 5 s default.
            '--repl-diskless-sync-delay', '0',
          ],
        }),
      ),
    )
    const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const cluster = new RedisCluster(servers, masters)
    try {
      const failed = started.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
      await promisify(execFile)(
        REDIS_CLI,
        ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: START_TIMEOUT_MS },
      )
      await cluster.waitHealthy(`the cluster of ${masters} masters and ${n - masters} replicas to be ready`, masters, n - masters, START_TIMEOUT_MS)
      return cluster
    } catch (err) {
      await cluster.stop()
      throw err
    }
  }

  /** One command to the node at port. */
  command(port: number, ...args: string[]): Promise<Reply> {
    return redisCommand(port, args, HOST)
  }

  private live(): Redis[] {
    return [...this.servers.values()].filter((s) => !this.killedAt.has(s.port))
  }

  /** The cluster as a live node sees it (the first that answers). */
  async nodes(): Promise<ClusterNode[]> {
    let last: unknown
    for (const s of this.live()) {
      try {
        return await this.nodesSeenBy(s.port)
      } catch (err) {
        last = err
      }
    }
    throw new Error('redis cluster: no live node answered CLUSTER NODES', { cause: last })
  }

  private async nodesSeenBy(port: number): Promise<ClusterNode[]> {
    const text = String(await this.command(port, 'CLUSTER', 'NODES'))
    return text.split('\n').filter((l) => l.trim() !== '').map(parseNodeLine)
  }

  /** The port of the master serving key's slot now. */
  async masterFor(key: string): Promise<number> {
    const live = this.live()
    if (live.length === 0) throw new Error('redis cluster: no live node')
    const slot = Number(await this.command(live[0].port, 'CLUSTER', 'KEYSLOT', key))
    const owner = (await this.nodes()).find((n) => n.role === 'master' && !n.flags.includes('fail') && serves(n, slot))
    if (!owner) throw new Error(`redis cluster: no master serves slot ${slot} (key ${key})`)
    return owner.port
  }

  /** SIGKILL the node at port; the time is kept for waitForFailover. */
  async killNode(port: number): Promise<void> {
    const server = this.server(port)
    const me = (await this.nodesSeenBy(port)).find((n) => n.port === port)
    const first = me?.slots?.[0]
    if (me?.role === 'master' && first) this.killedMaster.set(port, { id: me.id, slot: first[0] })
    else this.killedMaster.delete(port)
    await server.kill()
    this.killedAt.set(port, Date.now())
  }

  /**
   * Resolves with the milliseconds from killNode(deadPort) until every live
   * node reports cluster_state:ok and sees a live master other than the dead
   * one serving the dead master's slots.
   */
  async waitForFailover(deadPort: number, timeoutMs: number): Promise<number> {
    const killed = this.killedAt.get(deadPort)
    const dead = this.killedMaster.get(deadPort)
    if (killed === undefined || !dead) throw new Error(`redis cluster: ${deadPort} is not a killed master`)
    await waitFor(`a replica of ${deadPort} to take over its slots`, async () => {
      for (const s of this.live()) {
        try {
          if (infoField(await this.command(s.port, 'CLUSTER', 'INFO'), 'cluster_state') !== 'ok') return false
          const owner = (await this.nodesSeenBy(s.port)).find((n) => n.role === 'master' && serves(n, dead.slot))
          if (!owner || owner.id === dead.id || owner.flags.some((f) => f.startsWith('fail'))) return false
        } catch {
          return false
        }
      }
      return true
    }, timeoutMs, POLL_MS)
    return Date.now() - killed
  }

  /**
   * Starts a killed node again with its nodes.conf; resolves once it is a
   * replica with its link to its master up and the cluster is healthy.
   */
  async restartNode(port: number): Promise<void> {
    const server = this.server(port)
    await server.restart()
    this.killedAt.delete(port)
    this.killedMaster.delete(port)
    await waitFor(`${port} to rejoin as a replica`, async () => {
      try {
        const me = (await this.nodesSeenBy(port)).find((n) => n.port === port)
        return me?.role === 'replica'
      } catch {
        return false
      }
    }, START_TIMEOUT_MS, POLL_MS)
    const replicas = this.live().length - this.masterCount
    await this.waitHealthy(`the cluster to be healthy with ${port} back`, this.masterCount, replicas, START_TIMEOUT_MS)
  }

  /** FLUSHALL on every live master. */
  async flushAll(): Promise<void> {
    for (const port of await this.masterPorts()) await this.command(port, 'FLUSHALL')
  }

  /** KEYS pattern on every live master, concatenated. */
  async keys(pattern: string): Promise<string[]> {
    const out: string[] = []
    for (const port of await this.masterPorts()) {
      const r = await this.command(port, 'KEYS', pattern)
      if (Array.isArray(r)) out.push(...r.map(String))
    }
    return out
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()))
  }

  /** The server's output, for a failure message. */
  log(port: number): string {
    return this.server(port).log()
  }

  private server(port: number): Redis {
    const s = this.servers.get(port)
    if (!s) throw new Error(`redis cluster: no node on port ${port}`)
    return s
  }

  private async masterPorts(): Promise<number[]> {
    const live = new Set(this.live().map((s) => s.port))
    return (await this.nodes()).filter((n) => n.role === 'master' && !n.flags.includes('fail') && live.has(n.port)).map((n) => n.port)
  }

  /**
   * Waits until every live node reports cluster_state:ok with all slots
   * served, sees `masters` masters and `replicas` connected replicas, and
   * every replica's replication link is up.
   */
  private async waitHealthy(what: string, masters: number, replicas: number, timeoutMs: number): Promise<void> {
    let seen = ''
    try {
      await waitFor(what, async () => {
        let online = 0
        for (const s of this.live()) {
          try {
            const info = await this.command(s.port, 'CLUSTER', 'INFO')
            seen = `${s.port}: ${infoField(info, 'cluster_state')}, ${infoField(info, 'cluster_slots_ok')} slots ok`
            if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_slots_ok') !== String(SLOTS)) return false
            const nodes = (await this.nodesSeenBy(s.port)).filter((n) => !n.flags.some((f) => f.startsWith('fail')))
            const m = nodes.filter((n) => n.role === 'master' && (n.slots ?? []).length > 0).length
            const r = nodes.filter((n) => n.role === 'replica' && n.link === 'connected' && n.masterId).length
            seen = `${s.port} sees ${m} masters, ${r} connected replicas`
            if (m !== masters || r !== replicas) return false
            const me = nodes.find((n) => n.port === s.port)
            const repl = await this.command(s.port, 'INFO', 'replication')
            if (me?.role === 'replica') {
              seen = `${s.port}: master_link_status ${infoField(repl, 'master_link_status')}`
              if (infoField(repl, 'master_link_status') !== 'up') return false
            } else {
              // A new replica says its link is up while its master still
              // waits to send the first snapshot: the master's word counts.
              const states = replicaStates(repl)
              seen = `${s.port}: replicas ${states.join(' ') || 'none'}`
              if (states.some((st) => st !== 'online')) return false
              online += states.length
            }
          } catch (err) {
            seen = `${s.port}: ${(err as Error).message}`
            return false
          }
        }
        seen = `${online} replicas online`
        return online === replicas
      }, timeoutMs, POLL_MS * 2)
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${seen}`, { cause: err })
    }
  }
}
