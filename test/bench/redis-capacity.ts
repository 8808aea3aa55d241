// `npm run bench:redis`: how many messages per second one redis-server on
// this machine can count for, with the real RedisStore and the product's
// keys, and what the counters cost in memory per client IP, sender and
// recipient. `-- --cluster` runs the same on a Redis Cluster of 3 masters
// (one replica each) and shows how the commands spread over the masters.
//
// Each simulated message is one session from a client IP to one recipient
// with every counting check on, as the bundle sends it:
//   connect    join(conc) and setIfAbsent(first seen)
//   MAIL FROM  one read of the sender's two window keys
//   RCPT       one read of the client's six G28 keys and the mailbox's two
//   after      incr ip rcpt-ok, sender, ip accepted, mailbox; leave(conc)
// 9 commands on one Redis. Each stage starts in a turn of its own (as each
// SMTP command reaches Haraka in its own socket event), so the store's
// per-turn read batching joins one session's reads only, as in Haraka.
//
// Environment: CAP_SECONDS (default 10), CAP_INFLIGHT (sessions at once,
// default 200), CAP_IPS (default 10000), CAP_ADDRESSES (senders and
// recipients each, default 100000). Loopback only.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { CodeCounters } from '../../plugins/lib/codes/counters'
import { concurrencyKey } from '../../plugins/lib/phases/connect'
import { senderKey } from '../../plugins/lib/phases/mailfrom'
import { keys } from '../../plugins/lib/phases/rcpt'
import { countOne, recentCount } from '../../plugins/lib/store/rate-window'
import { RedisStore } from '../../plugins/lib/store/redis'
import { RedisTarget } from '../../plugins/lib/store/redis-target'
import { mulberry32 } from '../rig/prng'
import { Redis, Reply, redisCommand } from '../rig/redis'
import { RedisCluster } from '../rig/redis-cluster'
import { clockTicks, cpuTicks } from './proc'

const HOST = '127.0.0.1'
const PERIOD = 3600 // the rate checks' default period
const PROBATION = 86400 // [new_ip] probation's default
const FIRST_SEEN_EXTRA = 30 * 86400 // as plugins/rcpt.ts keeps a first-seen time
const IPV6_PREFIX = 64
const TIMEOUT_MS = 500 // [store] timeout's default
const HEARTBEAT_SEC = 30

function envInt(name: string, dflt: number): number {
  const v = process.env[name]?.trim()
  if (!v) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive whole number, please`)
  return n
}

function say(msg: string): void {
  process.stderr.write(`bench:redis: ${msg}\n`)
}

/** A data node: its port, its pid, whether it is a master. */
interface Node {
  port: number
  pid: number
  master: boolean
}

function infoField(info: Reply, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(String(info))?.[1].trim()
}

/** Calls per command name from INFO commandstats (cmdstat_mget:calls=12,...). */
function commandStats(info: Reply): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of String(info).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1], Number(m[2]))
  return out
}

/** What a run is measured by, read from every data node. */
interface Snapshot {
  cpu: number[]
  calls: Array<Map<string, number>>
  usedMemory: number[]
  keys: number[]
}

async function snapshot(nodes: Node[]): Promise<Snapshot> {
  const s: Snapshot = { cpu: [], calls: [], usedMemory: [], keys: [] }
  for (const n of nodes) {
    s.cpu.push(cpuTicks(n.pid))
    s.calls.push(commandStats(await redisCommand(n.port, ['INFO', 'commandstats'], HOST)))
    s.usedMemory.push(Number(infoField(await redisCommand(n.port, ['INFO', 'memory'], HOST), 'used_memory')))
    s.keys.push(Number(await redisCommand(n.port, ['DBSIZE'], HOST)))
  }
  return s
}

/** Calls per command name between two readings of one node, commandstats' own calls left out. */
function callsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, n] of after) {
    if (name === 'info' || name === 'dbsize' || name === 'memory|usage' || name === 'cluster|nodes' || name === 'cluster|info') continue
    const d = n - (before.get(name) ?? 0)
    if (d > 0) out.set(name, d)
  }
  return out
}

/** The commands RedisStore sends itself (each one round trip); the rest in commandstats run inside its scripts. */
const SENT = new Set(['evalsha', 'eval', 'mget', 'zrem'])

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

/** The servers under test: one redis-server, or a cluster of 3 masters with a replica each. */
async function startServers(cluster: boolean): Promise<{ target: RedisTarget; nodes: Node[]; stop: () => Promise<void>; about: string }> {
  if (!cluster) {
    const redis = await Redis.start()
    return {
      target: { kind: 'server', host: redis.host, port: redis.port },
      nodes: [{ port: redis.port, pid: redis.pid, master: true }],
      stop: () => redis.stop(),
      about: `one redis-server on ${HOST}:${redis.port}`,
    }
  }
  const c = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 })
  const nodes: Node[] = []
  for (const n of await c.nodes()) {
    const pid = Number(infoField(await c.command(n.port, 'INFO', 'server'), 'process_id'))
    nodes.push({ port: n.port, pid, master: n.role === 'master' })
  }
  nodes.sort((a, b) => Number(b.master) - Number(a.master) || a.port - b.port)
  return {
    target: { kind: 'cluster', nodes: nodes.map((n) => ({ host: HOST, port: n.port })) },
    nodes,
    stop: () => c.stop(),
    about: `a Redis Cluster of 3 masters and 3 replicas on ${HOST} (${c.seeds})`,
  }
}

/** One key of each kind, for MEMORY USAGE. */
function sampleKeys(ip: string, sender: string, rcpt: string, nowMs: number): Array<[string, string]> {
  const index = Math.floor(nowMs / (PERIOD * 1000))
  const win = (prefix: string): string => `${prefix}:${PERIOD}:${index}`
  return [
    ['client IP: first seen', keys.firstSeen(ip, IPV6_PREFIX)],
    ['client IP: accepted (one period)', win(keys.ipAccepted(ip, IPV6_PREFIX))],
    ['client IP: rcpt-ok (one period)', win(keys.ipRcptOk(ip, IPV6_PREFIX))],
    ['sender: rate (one period)', win(senderKey(sender))],
    ['recipient: rate (one period)', win(keys.mailbox(rcpt))],
  ]
}

async function main(): Promise<number> {
  // `npm run bench:redis -- --cluster` passes through a second `npm run`, which hands --cluster on as npm_config_cluster.
  const cluster = process.argv.includes('--cluster') || /^(1|true)$/i.test(process.env.npm_config_cluster ?? '')
  const seconds = envInt('CAP_SECONDS', 10)
  const inflight = envInt('CAP_INFLIGHT', 200)
  const ipCount = envInt('CAP_IPS', 10_000)
  const addressCount = envInt('CAP_ADDRESSES', 100_000)
  const ticks = clockTicks()

  const servers = await startServers(cluster)
  const { nodes } = servers
  say(`started ${servers.about}`)
  const log = { logwarn: (m: string) => say(`store: ${m}`), loginfo: (m: string) => say(`store: ${m}`) }
  const counters = new CodeCounters()
  const store = new RedisStore(servers.target, TIMEOUT_MS, HEARTBEAT_SEC, log, counters)
  try {
    if (!(await store.ready(10_000))) throw new Error('the store did not connect in 10 s')
    // Client IPs, senders and recipients drawn at random (a fixed seed) so
    // that keys spread over the slots and the key space fills as in service.
    const rand = mulberry32(18)
    const pick = (n: number): number => Math.floor(rand() * n)
    const ipOf = (i: number): string => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
    const senderOf = (i: number): string => `sender${i}@mail${i % 9973}.example`
    const rcptOf = (i: number): string => `user${i}@dest${i % 7919}.example`
    const seen = { ips: new Set<number>(), senders: new Set<number>(), rcpts: new Set<number>() }

    // One message: the bundle's store operations, stage by stage.
    let serial = 0
    let failed = 0
    let lastError = ''
    const oneMessage = async (): Promise<void> => {
      const [i, s, r] = [pick(ipCount), pick(addressCount), pick(addressCount)]
      seen.ips.add(i)
      seen.senders.add(s)
      seen.rcpts.add(r)
      const [ip, sender, rcpt] = [ipOf(i), senderOf(s), rcptOf(r)]
      const member = `bench-${++serial}`
      const conc = concurrencyKey(ip, IPV6_PREFIX)
      const ok = <T>(p: Promise<T>): Promise<T | undefined> =>
        p.catch((err: unknown) => {
          failed++
          lastError = err instanceof Error ? err.message : String(err)
          return undefined
        })
      await nextTurn()
      await Promise.all([ok(store.join(conc, member)), ok(store.setIfAbsent(keys.firstSeen(ip, IPV6_PREFIX), String(Date.now()), PROBATION + FIRST_SEEN_EXTRA))])
      await nextTurn()
      await ok(recentCount(store, senderKey(sender), PERIOD))
      await nextTurn()
      await Promise.all(
        [keys.ipAccepted(ip, IPV6_PREFIX), keys.ipRcptOk(ip, IPV6_PREFIX), keys.ipRcptRefused(ip, IPV6_PREFIX), keys.mailbox(rcpt)].map((k) =>
          ok(recentCount(store, k, PERIOD)),
        ),
      )
      await nextTurn()
      await Promise.all([
        ok(countOne(store, keys.ipRcptOk(ip, IPV6_PREFIX), PERIOD)),
        ok(countOne(store, senderKey(sender), PERIOD)),
        ok(countOne(store, keys.ipAccepted(ip, IPV6_PREFIX), PERIOD)),
        ok(countOne(store, keys.mailbox(rcpt), PERIOD)),
        ok(store.leave(conc, member)),
      ])
    }

    // A short warm-up: the scripts loaded on every master, the JIT warm.
    say('warming up (1 s)')
    const warmUntil = Date.now() + 1000
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (Date.now() < warmUntil) await oneMessage()
    }))
    failed = 0

    say(`running ${inflight} sessions at once for ${seconds} s (client IPs from ${ipCount}, senders and recipients from ${addressCount} each)`)
    const before = await snapshot(nodes)
    const selfBefore = process.cpuUsage()
    const began = process.hrtime.bigint()
    const until = Date.now() + seconds * 1000
    let messages = 0
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (Date.now() < until) {
        await oneMessage()
        messages++
      }
    }))
    const elapsed = Number(process.hrtime.bigint() - began) / 1e9
    const self = process.cpuUsage(selfBefore)
    const after = await snapshot(nodes)

    const masters = nodes.map((n, i) => ({ n, i })).filter((x) => x.n.master)
    const replicas = nodes.map((n, i) => ({ n, i })).filter((x) => !x.n.master)
    const cpuSec = (i: number): number => (after.cpu[i] - before.cpu[i]) / ticks
    const calls = nodes.map((_, i) => callsBetween(before.calls[i], after.calls[i]))
    const masterCalls = masters.map(({ i }) => sum([...calls[i].values()]))
    const allCalls = sum(masterCalls)
    const masterCpu = sum(masters.map(({ i }) => cpuSec(i)))
    const replicaCpu = sum(replicas.map(({ i }) => cpuSec(i)))
    const rate = messages / elapsed
    const cpuPerMsg = masterCpu / messages

    const out: string[] = []
    const line = (s = ''): void => {
      out.push(s)
    }
    line(`Redis capacity: ${servers.about}`)
    line(`  ${inflight} simulated sessions at once for ${elapsed.toFixed(1)} s; client IPs from ${ipCount}, senders and recipients from ${addressCount} each; each message one recipient, every counting check on`)
    line()
    line(`  messages:                ${messages} (${rate.toFixed(0)} msgs/s)${failed ? `; ${failed} store operation(s) FAILED (last: ${lastError})` : '; no store operation failed'}`)
    const byName = new Map<string, number>()
    for (const { i } of masters) for (const [k, v] of calls[i]) byName.set(k, (byName.get(k) ?? 0) + v)
    // commandstats counts the calls a script makes as well; the store itself
    // sends only scripts, MGET and ZREM here (put and fetch are not used).
    const sent = sum([...byName].filter(([k]) => SENT.has(k)).map(([, v]) => v))
    line(`  commands sent:           ${sent} (${(sent / elapsed).toFixed(0)}/s, ${(sent / messages).toFixed(2)} per message: ${[...byName].filter(([k]) => SENT.has(k)).map(([k, v]) => `${k} ${(v / messages).toFixed(2)}`).join(', ')})`)
    line(`  commands run:            ${allCalls} with those the scripts call (${(allCalls / elapsed).toFixed(0)}/s, ${(allCalls / messages).toFixed(2)} per message)`)
    line(`    inside scripts:        ${[...byName].filter(([k]) => !SENT.has(k)).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / messages).toFixed(2)}`).join(', ')}`)
    line(`  Redis CPU (master(s)):   ${masterCpu.toFixed(2)} s = ${((masterCpu / elapsed) * 100).toFixed(0)} % of a core; ${(cpuPerMsg * 1000 * 1000).toFixed(1)} ms per 1000 messages`)
    if (replicas.length) line(`  Redis CPU (replicas):    ${replicaCpu.toFixed(2)} s = ${((replicaCpu / elapsed) * 100).toFixed(0)} % of a core; ${((replicaCpu / messages) * 1e6).toFixed(1)} ms per 1000 messages`)
    line(`  => messages/s per Redis core (1 / CPU s per message): ${(1 / cpuPerMsg).toFixed(0)}`)
    line(`  this client process:     ${((self.user + self.system) / 1e6).toFixed(2)} s CPU = ${(((self.user + self.system) / 1e6 / elapsed) * 100).toFixed(0)} % of a core (the machine has 2; what Redis did not get)`)
    if (cluster) {
      line()
      line('  per master:')
      masters.forEach(({ n, i }, j) => {
        const own = sum([...calls[i]].filter(([k]) => SENT.has(k)).map(([, v]) => v))
        line(`    :${n.port}  ${own} commands sent (${((own / sent) * 100).toFixed(1)} %), ${masterCalls[j]} run (${((masterCalls[j] / allCalls) * 100).toFixed(1)} %), CPU ${cpuSec(i).toFixed(2)} s (${((cpuSec(i) / masterCpu) * 100).toFixed(1)} %), ${after.keys[i]} keys`)
      })
    }
    // Memory: what the run left in Redis (the masters'), over what it touched.
    const usedDelta = sum(masters.map(({ i }) => after.usedMemory[i] - before.usedMemory[i]))
    const keysAfter = sum(masters.map(({ i }) => after.keys[i]))
    line()
    line(`  memory (master(s)): used_memory +${(usedDelta / 2 ** 20).toFixed(1)} MiB for ${keysAfter} keys (DBSIZE): ${(usedDelta / keysAfter).toFixed(0)} bytes per key on average`)
    line(`    distinct client IPs ${seen.ips.size}, senders ${seen.senders.size}, recipients ${seen.rcpts.size}`)
    const kinds = new Map<string, number>()
    for (const { n } of masters) for (const [kind, count] of await keyKinds(n.port)) kinds.set(kind, (kinds.get(kind) ?? 0) + count)
    line(`    keys by kind:    ${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    const now = Date.now()
    const [si, ss, sr] = [seen.ips.values().next().value ?? 0, seen.senders.values().next().value ?? 0, seen.rcpts.values().next().value ?? 0]
    const usage = new Map<string, number>()
    for (const [what, key] of sampleKeys(ipOf(si), senderOf(ss), rcptOf(sr), now)) {
      const port = cluster ? await masterOf(nodes, key) : nodes[0].port
      const bytes = Number(await redisCommand(port, ['MEMORY', 'USAGE', key], HOST))
      usage.set(what, bytes)
      line(`    MEMORY USAGE ${what.padEnd(34)} ${String(bytes).padStart(4)} bytes  (${key})`)
    }
    const perIp = (usage.get('client IP: first seen') ?? 0) + 2 * ((usage.get('client IP: accepted (one period)') ?? 0) + (usage.get('client IP: rcpt-ok (one period)') ?? 0))
    line(`    per client IP:   first seen + accepted and rcpt-ok in two periods (+ rcpt-refused per period when refused): ~${perIp} bytes`)
    line(`    per sender:      two periods: ~${2 * (usage.get('sender: rate (one period)') ?? 0)} bytes`)
    line(`    per recipient:   two periods: ~${2 * (usage.get('recipient: rate (one period)') ?? 0)} bytes`)
    line(`    (MEMORY USAGE counts the key, its value and its object; used_memory per key adds the keyspace's and expiry tables' share)`)
    process.stdout.write(out.join('\n') + '\n')
    return failed ? 1 : 0
  } finally {
    await store.close()
    await servers.stop()
  }
}

/** Keys of one node by kind (their name less the subject and the period), through SCAN. */
async function keyKinds(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let cursor = '0'
  do {
    const reply = await redisCommand(port, ['SCAN', cursor, 'COUNT', '1000'], HOST)
    if (!Array.isArray(reply) || !Array.isArray(reply[1])) throw new Error('SCAN: an unexpected reply')
    cursor = String(reply[0])
    for (const key of reply[1]) {
      const kind = String(key).replace(/\{[^}]*\}/, '{…}').replace(/:\d+:\d+$/, ':<period>:<n>')
      out.set(kind, (out.get(kind) ?? 0) + 1)
    }
  } while (cursor !== '0')
  return out
}

/** The master serving a key's slot, as CLUSTER KEYSLOT and CLUSTER NODES tell it. */
async function masterOf(nodes: Node[], key: string): Promise<number> {
  const master = nodes.find((n) => n.master)
  if (!master) throw new Error('no master')
  const slot = Number(await redisCommand(master.port, ['CLUSTER', 'KEYSLOT', key], HOST))
  for (const line of String(await redisCommand(master.port, ['CLUSTER', 'NODES'], HOST)).split('\n')) {
    const f = line.split(' ')
    if (!f[2]?.includes('master')) continue
    for (const range of f.slice(8)) {
      const [a, b] = range.split('-').map(Number)
      if (slot >= a && slot <= (b ?? a)) return Number(f[1].split('@')[0].split(':').pop())
    }
  }
  throw new Error(`no master serves slot ${slot}`)
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`bench:redis: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
