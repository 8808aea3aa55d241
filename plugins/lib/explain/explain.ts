// `support-codes explain`: one message and its envelope through the same
// session driver (phases/session.ts) and catalog as the four plugins,
// offline from Haraka: explain gathers the facts from files and the command
// line, the DNS lookups, callouts and clamd scans are made as the server
// would make them, the counter store is read and never written.
import { authenticate } from '../auth/authenticate'
import { DnsRegistry } from '../dns/registry'
import { Callout } from '../callout/callout'
import { gatherSenderMx } from '../phases/rcpt'
import { isUnlistable } from '../lists/dnsbl'
import { ZoneHealth } from '../lists/dnsbl-health'
import { Phase } from '../codes/catalog'
import { readHeaderBlock } from '../mime/headers'
import { gatherPtr } from '../phases/connect'
import { parseBannedExtensions } from '../phases/data'
import { clientKey } from '../config/netlist'
import { calloutVia, keys, lookupZones, rcptLists } from '../phases/rcpt'
import { PhaseRun, Step } from '../phases/run'
import { Session } from '../phases/session'
import { CodeCounters } from '../codes/counters'
import { skipFor } from '../phases/skip'
import { recentCount } from '../store/rate-window'
import { renderVerdict } from '../codes/render'
import { MemoryStore } from '../store/memory'
import { RedisStore } from '../store/redis'
import { CounterStore } from '../store/types'
import { counterFor, Counters, readOnly } from './counters'
import { loadNodeConfig } from './node-config'

export interface ExplainInput {
  message: Buffer
  ip: string
  helo: string
  /** '' for the null sender. */
  from: string
  to: string[]
  /** A node's config folder; undefined: the package defaults. */
  configDir?: string
  counters?: Counters
  /** A client the server lets relay (relay ACL, AUTH): every check is skipped, as in the plugins. */
  relaying?: boolean
  /** DNS servers to ask (host or host:port) instead of [dns] servers or the system's. */
  dnsServers?: string[]
  /** Stop after this stage (what a client would see up to that reply). */
  stopAfter?: StageName
  /** Run this stage alone, as though the ones before it had passed. */
  only?: StageName
}

export type StageName = 'connect' | 'MAIL FROM' | 'RCPT TO' | 'DATA'

export interface StepReport extends Step {
  /** The reply line of a verdict, as the server would send it (also for monitor and held ones). */
  line?: string
}

export interface Stage {
  name: StageName
  /** For RCPT TO: the recipient. */
  rcpt?: string
  steps: StepReport[]
  /** The reply the bundle sends here, when a check refuses. */
  line?: string
  warnings: string[]
}

export interface Explanation {
  /** Why every check is skipped for this client (the allow list). */
  skip?: string
  stages: Stage[]
  /** What the server would end with: a refusal line, or accepted for the recipients listed. */
  outcome: { refused: string; stage: StageName } | { accepted: string[] }
  /** About the settings and the counters, for people. */
  notes: string[]
}

/** The Received header values at the top of a message, unfolded. */
function receivedHeaders(message: Buffer): string[] {
  const block = readHeaderBlock(message, 0, 64 * 1024, (name) => name === 'received')
  return block.fields.map((f) => message.subarray(f.valueStart, f.end).toString('latin1'))
}

export async function explain(input: ExplainInput): Promise<Explanation> {
  const cfg = loadNodeConfig(input.configDir)
  const notes = [...cfg.problems]
  const counters = input.counters ?? {}
  const shared = cfg.data.shared
  const tagAll = shared.main.tag_all
  const stages: Stage[] = []
  const ip = input.ip

  const stage = (name: StageName, run: PhaseRun, rcpt?: string): Stage => {
    const steps = run.steps.map((s): StepReport => (s.verdict ? { ...s, line: renderVerdict(s.verdict, s.phase ?? run.phase ?? 'data', { tagAll }).line } : { ...s }))
    const stop = run.stop ? steps[run.steps.indexOf(run.stop)] : undefined
    const st: Stage = { name, rcpt, steps, line: stop?.line, warnings: run.warnings }
    stages.push(st)
    return st
  }

  const on = cfg.enabled
  if (on.size < 4) notes.push(`plugins: ${on.size ? [...on].map((p) => `support-codes/${p}`).join(', ') : 'none of the bundle\'s'} in config/plugins; the others' checks are not run`)
  const relaying = input.relaying || (cfg.relayAcl?.has(ip) ?? false)
  const skip = skipFor({ ip, relaying, authenticated: false }, cfg.data.allow)
  if (skip) {
    cfg.close()
    return { skip, stages, outcome: { accepted: input.to }, notes }
  }

  // Mail this run lets through on a fail-open path, numbered as one process numbers it.
  const failOpen = new CodeCounters()
  // Opened on first use: most runs given their counters never need it.
  let base: CounterStore | undefined
  let opening: Promise<CounterStore> | undefined
  const open = (): Promise<CounterStore> => {
    opening ??= (async () => {
      if (shared.store.backend !== 'redis') return (base = new MemoryStore())
      const redis = new RedisStore(cfg.data.redis, Math.round(shared.store.timeout * 1000), shared.store.heartbeat, { logwarn: (m: string) => notes.push(m), loginfo: () => undefined }, failOpen)
      base = redis
      if (!(await redis.ready(2000))) notes.push('store: redis did not answer within 2 s; the counter checks see nothing')
      return redis
    })()
    return opening
  }
  if (shared.store.backend === 'memory') notes.push('store: memory; its counters live inside each Haraka process, so the counter checks see only what --counter gives')
  const store = readOnly({
    backend: shared.store.backend,
    get: async (k) => (await open()).get(k),
    fetch: async (k) => (await open()).fetch(k),
    close: async () => undefined,
  })
  const servers = input.dnsServers ?? shared.dns.servers
  // This run's own resolvers, uncached: it sees the DNS as it is now; mailauth's shares their front-end.
  const resolvers = new DnsRegistry()
  const dns = resolvers.dns(servers, shared.dns.timeout, 0, false)
  const done = (name: StageName): boolean => input.stopAfter === name
  const runs = (name: StageName): boolean => input.only === undefined || input.only === name
  const accepted: string[] = []
  // A stage explain does not run (--only): as though its checks had passed.
  const none = (phase: Phase): PhaseRun => new PhaseRun(() => false, phase)
  const connect = cfg.connect.own
  const mailfrom = cfg.mailfrom.own
  const rcptCfg = cfg.rcpt
  const own = rcptCfg.own
  // Problems with the rcpt plugin's list files are noted where the server would meet them: at RCPT.
  const listProblems: string[] = []
  const lists = rcptLists(own, rcptCfg.extra, (n) => rcptCfg.lines(n), (m) => listProblems.push(m))
  const data = cfg.data.own
  // The plugins the node enables, each with its settings, in one session as the server runs them.
  const session = new Session({
    monitor: shared.main.monitor,
    connect: on.has('connect') ? connect : undefined,
    mailfrom: on.has('mailfrom') ? mailfrom : undefined,
    rcpt: on.has('rcpt') ? { own, lists } : undefined,
    data: on.has('data') ? data : undefined,
    counters: failOpen,
  })
  try {
    // connect: G2
    let run = runs('connect') ? session.connect(counters.connections ?? 1) : none('connect')
    let st = stage('connect', run)
    if (st.line) return { stages, outcome: { refused: st.line, stage: 'connect' }, notes }
    if (done('connect')) return { stages, outcome: { accepted }, notes }

    // MAIL FROM: G1F (connect plugin), then G34, G29 (mailfrom plugin)
    const recent = (key: string, period: number): Promise<number | undefined> => {
      const given = counterFor(key, ip, counters)
      return given !== undefined ? Promise.resolve(given) : recentCount(store, key, period).catch(() => undefined)
    }
    run = !runs('MAIL FROM') ? none('mailfrom') : await session.mail({
      ptr: () => gatherPtr(dns, ip, dns.ptr(ip), connect.ptr.fcrdns),
      mailfrom: { sender: input.from, recent: (key) => recent(key, mailfrom.sender_rate.period) },
    })
    st = stage('MAIL FROM', run)
    if (st.line) return { stages, outcome: { refused: st.line, stage: 'MAIL FROM' }, notes }
    if (done('MAIL FROM')) return { stages, outcome: { accepted }, notes }

    // RCPT TO, each recipient
    notes.push(...listProblems)
    let zones = !on.has('rcpt') || !runs('RCPT TO') || isUnlistable(ip) ? [] : lists.zones
    if (on.has('rcpt') && lists.zones.length && !zones.length) notes.push(`dnsbl: ${ip} is a private or local address; no zone is asked`)
    // The server switches off a zone that fails its RFC 5782 test; so does explain.
    if (zones.length && own.dnsbl.recheck > 0) {
      const health = new ZoneHealth(() => dns, { loginfo: (m) => notes.push(`dnsbl: ${m}`), logwarn: (m) => notes.push(`dnsbl: ${m}`) })
      const ok = await Promise.all(zones.map((z) => health.test(z).catch(() => false)))
      zones = zones.filter((_, i) => ok[i])
    }
    const dnsbl = zones.length ? lookupZones(dns, ip, zones) : undefined
    const fromDomain = input.from.includes('@') ? input.from.slice(input.from.lastIndexOf('@') + 1).toLowerCase() : ''
    const senderMx = on.has('rcpt') && runs('RCPT TO') && own.sender_mx.enabled && lists.mxList.size && fromDomain
      ? gatherSenderMx(fromDomain, input.from, dns, lists.mxList.hasAddresses).catch(() => undefined)
      : undefined
    const callout = new Callout({ helo: rcptCfg.hostname(), timeoutMs: own.callout.timeout * 1000, maxPerServer: own.callout.max_per_server })
    const ipAge = async (): Promise<number | undefined> => {
      if (counters.ip_age !== undefined) return counters.ip_age
      const first = await store.fetch(keys.firstSeen(ip, shared.store.ipv6_prefix)).catch(() => undefined)
      // Never seen: this connection would be the first.
      return first === undefined ? 0 : Math.max(0, (Date.now() - Number(first)) / 1000)
    }
    // Alone, DATA still needs to know which recipients were held for it.
    const rcptRuns = runs('RCPT TO') || (input.only === 'DATA' && own.recipients.at === 'data')
    for (const address of input.to) {
      run = !rcptRuns ? none('rcpt') : await session.rcpt({
        ip, sender: input.from, address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(),
        dnsbl, ipAge, recent, senderMx, ipv6Prefix: shared.store.ipv6_prefix,
        callout: calloutVia(store, own, lists, dns, callout, clientKey(ip, shared.store.ipv6_prefix)),
      })
      st = stage('RCPT TO', run, address)
      if (st.line) continue
      accepted.push(address)
    }
    if (done('RCPT TO')) return { stages, outcome: { accepted }, notes }
    if (!accepted.length) {
      const last = stages[stages.length - 1]
      return { stages, outcome: { refused: last.line ?? '', stage: 'RCPT TO' }, notes }
    }

    // DATA: the data plugin, then the held G8/G9 of the rcpt plugin
    run = await session.data({
      received: receivedHeaders(input.message),
      self: [cfg.data.hostname()],
      raw: async () => input.message,
      banned: parseBannedExtensions(cfg.data.lines('support-codes.banned_extensions'), (m) => notes.push(m)),
      authenticate: (raw) => authenticate({
        raw, ip, helo: input.helo, mailFrom: input.from, mta: cfg.data.hostname(),
        resolver: resolvers.mailauth(servers, shared.dns.timeout, 0),
        maxLookupsMs: shared.dns.timeout * 3000,
      }),
    })
    st = stage('DATA', run)
    if (st.line) return { stages, outcome: { refused: st.line, stage: 'DATA' }, notes }
    return { stages, outcome: { accepted }, notes }
  } finally {
    cfg.close()
    await base?.close().catch(() => undefined)
  }
}
