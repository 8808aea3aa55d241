// `npm run bench`: throughput, CPU and memory of a Haraka node with the
// bundle against a bare one, driven by Postfix's smtp-source on loopback.
//
//   npm run bench                  every case set (standard, realistic, metrics), their sizes and 1/10/50 sessions
//   npm run bench -- --quick       one small case per scenario (BENCH_QUICK=1), a smoke test
//   npm run bench -- --write       also write docs/performance.md (BENCH_WRITE=1; every case set must run)
//
// Environment: BENCH_CASES (case sets, comma-separated: standard, realistic,
// metrics; default all, see scenarios.ts), BENCH_MESSAGES (messages per measured run, all sizes),
// BENCH_WARMUP (warm-up messages), BENCH_REWARM (messages sent to a node
// just before each of its measured runs, default a tenth of a run), BENCH_REPEAT (measured runs per case,
// default 5; the median is reported), BENCH_SCENARIOS (names, comma-separated;
// also the optional ones in scenarios.ts), BENCH_SIZES (bytes),
// BENCH_CONCURRENCY (sessions), BENCH_LOADGEN=node (skip smtp-source),
// BENCH_OUT (where --write writes, default docs/performance.md), BENCH_PIN=1
// (Haraka on a CPU of its own; see proc.ts),
// BENCH_PROFILE=DIR (a V8 CPU profile of each Haraka, written when it stops;
// the profiler slows Haraka down, so the numbers of such a run are not kept).
//
// Each case (size, sessions) gets a fresh Haraka process per scenario (one
// process, nodes=0, log level warn) with every resolver on a loopback DNS
// server, a warm-up run, then measured runs taking turns between the
// scenarios. Nothing leaves the machine.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { prepareTemplateNode, ROOT } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { Redis } from '../rig/redis'
import { RedisCluster } from '../rig/redis-cluster'
import { cleanupNow, onCleanup } from './cleanup'
import { BenchHaraka, harakaVersion } from './haraka-node'
import { LoadGenerator, loadGenerator } from './load'
import { clockTicks, cpuTicks, machine, machineBusyTicks, peakRssKiB, Pinning, pinCpus, selfTicks } from './proc'
import { CaseResult, markdownReport, plainReport, RunInfo, Section, sharesText, sizeLabel } from './report'
import { BenchContext, CASE_SETS, CaseSet, Scenario } from './scenarios'
import { benchLists, benchZone } from './zone'
import { benchMessage, messageFile } from './message'
import { designedShares, mixClients, Outcome } from './mix'
import { runProxyLoad } from './proxy-client'
import { Scraper } from './scrape'
import { freePort } from '../rig/ports'

const KB = 1024
// Messages per measured run, by size: a few seconds each on 2 cores.
const DEFAULT_MESSAGES: Record<number, number> = { [2 * KB]: 2000, [200 * KB]: 600 }
// Warm-up messages per node before its first measured run. A fresh Haraka
// runs slower for its first thousands of sessions (JIT tiers, heap growth):
// at 2 KB the CPU per message of bare and bundle alike kept falling for about
// 3000 messages; at 200 KB the bundle's settled after about 1000, bare's
// sooner. Measured runs made earlier counted a start-up cost that a server
// pays once, and more of it for the scenario with more code.
const DEFAULT_WARMUP: Record<number, number> = { [2 * KB]: 3000, [200 * KB]: 1500 }

function say(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`)
}

function envList(name: string): string[] | undefined {
  const v = process.env[name]?.trim()
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined
}

function envInt(name: string): number | undefined {
  const v = process.env[name]?.trim()
  if (!v) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive whole number, please`)
  return n
}

// `npm run bench -- --write` reaches this script through a second `npm run`,
// which takes --write as its own setting and passes it on as npm_config_write.
function flag(name: string, env: string): boolean {
  const on = (v: string | undefined): boolean => /^(1|true|yes)$/i.test(v ?? '')
  return process.argv.includes(`--${name}`) || on(process.env[env]) || on(process.env[`npm_config_${name}`])
}

interface SetPlan {
  set: CaseSet
  scenarios: Scenario[]
  sizes: number[]
  concurrency: number[]
}

interface Plan {
  quick: boolean
  sets: SetPlan[]
  /** Every case set runs (what --write needs: the page is one run). */
  allSets: boolean
  messages: (size: number) => number
  warmup: (size: number) => number
  /** Messages sent to a node just before each of its measured runs. */
  rewarm: (size: number, concurrency: number) => number
  repeat: number
}

function plan(): Plan {
  const quick = flag('quick', 'BENCH_QUICK')
  const setNames = envList('BENCH_CASES')
  for (const n of setNames ?? []) {
    if (!CASE_SETS.some((c) => c.name === n)) throw new Error(`BENCH_CASES: no case set ${n} (there are ${CASE_SETS.map((c) => c.name).join(', ')})`)
  }
  const chosen = setNames ? CASE_SETS.filter((c) => setNames.includes(c.name)) : CASE_SETS
  const names = envList('BENCH_SCENARIOS')
  for (const n of names ?? []) {
    if (!chosen.some((c) => c.scenarios.some((x) => x.name === n))) {
      throw new Error(`BENCH_SCENARIOS: no scenario ${n} in the case sets run (there are ${[...new Set(chosen.flatMap((c) => c.scenarios.map((x) => x.name)))].join(', ')})`)
    }
  }
  const envSizes = envList('BENCH_SIZES')?.map(Number)
  const envConc = envList('BENCH_CONCURRENCY')?.map(Number)
  for (const n of [...(envSizes ?? []), ...(envConc ?? [])]) if (!Number.isInteger(n) || n <= 0) throw new Error(`bad size or concurrency: ${n}`)
  const sets: SetPlan[] = chosen
    .map((set) => ({
      set,
      scenarios: names ? set.scenarios.filter((s) => names.includes(s.name)) : set.scenarios.filter((s) => !s.optional),
      sizes: envSizes ?? (quick ? [2 * KB] : set.sizes),
      concurrency: envConc ?? (quick ? [10] : set.concurrency),
    }))
    .filter((sp) => sp.scenarios.length)
  const messages = envInt('BENCH_MESSAGES')
  const warmup = envInt('BENCH_WARMUP')
  const rewarm = envInt('BENCH_REWARM')
  const perRun = (size: number): number => messages ?? (quick ? 200 : (DEFAULT_MESSAGES[size] ?? Math.max(200, Math.round((2000 * 2 * KB) / size))))
  return {
    quick,
    repeat: envInt('BENCH_REPEAT') ?? (quick ? 1 : 5),
    sets,
    allSets: CASE_SETS.every((c) => sets.some((sp) => sp.set === c)),
    messages: perRun,
    // A tenth of a run, and at least two messages per session.
    rewarm: (size, concurrency) => rewarm ?? Math.max(2 * concurrency, Math.round(perRun(size) / 10)),
    warmup: (size) => warmup ?? (quick ? 50 : (DEFAULT_WARMUP[size] ?? Math.max(1500, Math.round((3000 * 2 * KB) / size)))),
  }
}

async function main(): Promise<number> {
  const began = Date.now()
  const p = plan()
  const write = flag('write', 'BENCH_WRITE')
  if (write && !p.allSets) throw new Error('--write with BENCH_CASES or BENCH_SCENARIOS leaving a case set out: docs/performance.md holds every case set from one run')
  if (process.env.BENCH_PROFILE) {
    if (write) throw new Error('BENCH_PROFILE and --write: a profiled run is slower, its numbers do not belong in docs/performance.md')
    fs.mkdirSync(path.resolve(process.env.BENCH_PROFILE), { recursive: true })
    say(`BENCH_PROFILE: CPU profiles go to ${path.resolve(process.env.BENCH_PROFILE)}; the profiler slows Haraka down`)
  }
  const ticks = clockTicks()
  // Before anything is started: the children inherit this process's CPUs.
  const pinning = pinCpus(/^(1|true|yes)$/i.test(process.env.BENCH_PIN ?? ''))
  say(`CPUs: ${pinning.about}`)
  const load = await loadGenerator()

  const template = prepareTemplateNode()
  onCleanup(() => fs.rmSync(template, { recursive: true, force: true }))
  process.env.SC_TEMPLATE_NODE = template

  const dns = await TestDns.start({ records: benchZone() })
  const ctx: BenchContext & { pids: number[] } = { pids: [] }
  const every = p.sets.flatMap((sp) => sp.scenarios)
  let redis: Redis | undefined
  if (every.some((s) => s.needs?.includes('redis'))) {
    say('starting a private redis-server on loopback')
    redis = await Redis.start()
    ctx.redis = { host: redis.host, port: redis.port }
    ctx.pids.push(redis.pid)
  }
  let cluster: RedisCluster | undefined
  if (every.some((s) => s.needs?.includes('redis-cluster'))) {
    say('starting a private Redis Cluster on loopback (3 masters, 3 replicas)')
    cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 })
    ctx.redisCluster = { seeds: cluster.seeds }
    // Its processes' CPU is ours, as redis-server's is (the "other CPU" column).
    for (const port of cluster.ports) ctx.pids.push(await serverPid(cluster, port))
  }

  const total = p.sets.reduce((sum, sp) => sum + sp.sizes.length * sp.concurrency.length, 0)
  for (const sp of p.sets) {
    say(
      `${sp.set.name}: ${sp.sizes.length * sp.concurrency.length} case(s) of ${sp.scenarios.length} scenario(s) (${sp.scenarios.map((s) => s.name).join(', ')}), ` +
        `sizes ${sp.sizes.map(sizeLabel).join(', ')}, sessions ${sp.concurrency.join(', ')}, ${p.repeat} measured run(s) each`,
    )
  }
  const sections: Section[] = []
  const messageLabels = new Map<number, string>()
  const files = new Map<number, { file: string; text: string } | undefined>()
  const lists = benchLists()
  let n = 0
  try {
    for (const sp of p.sets) {
      const results: CaseResult[] = []
      const designed = sp.set.mix ? designedShares(mixClients(lists)) : undefined
      if (designed) say(`${sp.set.name}: sessions designed to end accepted / refused / deferred with the bundle: ${sharesText(designed)}`)
      sections.push({ set: sp.set, scenarios: sp.scenarios, results, designed })
    for (const size of sp.sizes) {
      if (!files.has(size)) {
        const msg = benchMessage(size)
        messageLabels.set(size, `${sizeLabel(size)}: ${msg.label}`)
        say(`${sizeLabel(size)}: ${msg.label}`)
        files.set(size, msg.text === undefined ? undefined : { file: messageFile(size, msg.text), text: msg.text })
      }
      const message = files.get(size)
      for (const concurrency of sp.concurrency) {
        n++
        const c: CaseParams = { size, concurrency, messages: p.messages(size), warmup: p.warmup(size), rewarm: p.rewarm(size, concurrency), repeat: p.repeat, ticks, message, mix: sp.set.mix ? lists : undefined }
        const label = `[${n}/${total}] ${sp.set.name}, ${sizeLabel(size)}, ${concurrency} sessions, ${c.messages} messages`
        for (const r of await runCase(sp.scenarios, { ...ctx, pinning }, dns, load, c, label)) {
          results.push(r)
          if (r.ok) {
            const mix = r.shares ? `, sessions accepted / refused / deferred ${sharesText(r.shares)}, load CPU ${(r.loadCpuMsPerMsg ?? NaN).toFixed(2)} ms/msg` : ''
            const scraped = r.scrapes === undefined ? '' : `, GET /metrics answered ${r.scrapes} time(s)`
            say(`${label}, ${r.scenario}: ${r.rate.toFixed(1)} msgs/s (runs: ${r.rates.map((x) => x.toFixed(0)).join(', ')}), ${r.cpuMsPerMsg.toFixed(2)} CPU ms/msg (runs: ${r.cpus.map((x) => x.toFixed(2)).join(', ')}), peak RSS ${r.peakRssMiB.toFixed(0)} MiB${mix}${scraped}`)
          } else {
            say('!!!!!!!!')
            say(`!!! ${label}, ${r.scenario}: FAILED`)
            for (const line of (r.failure ?? '').split('\n')) say(`!!! ${line}`)
            say('!!!!!!!!')
          }
        }
      }
    }
    }
  } finally {
    await dns.stop()
    await redis?.stop()
    await cluster?.stop()
  }

  const m = machine()
  const info: RunInfo = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...m,
    haraka: harakaVersion(),
    load: load.name,
    messages: [...messageLabels.values()],
    clockTicks: ticks,
    quick: p.quick,
    repeat: p.repeat,
    warmup: [...messageLabels.keys()].map((size) => `${sizeLabel(size)}: ${p.warmup(size)}`),
    seconds: (Date.now() - began) / 1000,
    pinning: pinning.about,
  }
  process.stdout.write('\n' + plainReport(info, sections))
  if (write) {
    const out = path.resolve(ROOT, process.env.BENCH_OUT || path.join('docs', 'performance.md'))
    fs.writeFileSync(out, markdownReport(info, sections))
    say(`wrote ${path.relative(ROOT, out)}`)
  }
  const results = sections.flatMap((sec) => sec.results)
  const failed = results.filter((r) => !r.ok).length
  if (failed) say(`${failed} of ${results.length} case(s) FAILED`)
  return failed ? 1 : 0
}

interface CaseParams {
  size: number
  concurrency: number
  messages: number
  warmup: number
  rewarm: number
  repeat: number
  ticks: number
  message?: { file: string; text: string }
  /** The realistic case: sessions from the mix through PROXY, with the nodes' DNS lists. */
  mix?: Array<[string, string]>
}

interface Measured {
  rate: number
  cpuMs: number
  cpuPercent: number
  otherPercent: number
  dnsPerMsg: number
  /** The load generator's CPU per message (the PROXY client's own, measured in its process). */
  loadCpuMs?: number
  /** Sessions by how they ended (the PROXY client). */
  outcomes?: Record<Outcome, number>
}

/** What one load run gives, from either generator. */
interface Sent {
  ok: boolean
  seconds: number
  detail: string
  loadCpuMs?: number
  outcomes?: Record<Outcome, number>
}



/** The run with the median msgs/s (the lower middle one of an even count). */
function medianRun(runs: Measured[]): Measured {
  const v = [...runs].sort((a, b) => a.rate - b.rate)
  return v[(v.length - 1) >> 1]
}

interface Live {
  sc: Scenario
  node?: BenchHaraka
  /** GET /metrics every 5 s, for a scenario with its metrics listener on. */
  scraper?: Scraper
  failure?: string
  runs: Measured[]
}

// Seeds of the mix's session streams: every node of a round gets the same sessions.
const WARMUP_SEED = 1
const rewarmSeed = (round: number): number => 1000 + round
const runSeed = (round: number): number => 100 + round

/**
 * One case (size, sessions) for every scenario: a fresh Haraka per scenario,
 * all started at once, a warm-up run on each, then the measured runs taking
 * turns between the scenarios (the order rotating each round), so a slow
 * moment of the machine does not land on one scenario only. The result per
 * scenario is the median run.
 */
async function runCase(
  scenarios: Scenario[],
  ctx: BenchContext & { pids: number[]; pinning: Pinning },
  dns: TestDns,
  load: LoadGenerator,
  c: CaseParams,
  label: string,
): Promise<CaseResult[]> {
  const live: Live[] = scenarios.map((sc) => ({ sc, runs: [] }))
  const run = { port: 0, messages: 0, concurrency: c.concurrency, size: c.size, message: c.message }
  const send = async (l: Live, node: BenchHaraka, messages: number, seed: number): Promise<Sent> => {
    if (!c.mix) return load.run({ ...run, port: node.port, messages })
    const r = await runProxyLoad({ port: node.port, messages, concurrency: c.concurrency, seed, lists: c.mix, designed: l.sc.refuses === true, size: c.size, text: c.message?.text })
    return { ok: r.ok, seconds: r.seconds, detail: r.detail, loadCpuMs: r.cpuMs, outcomes: r.outcomes }
  }
  try {
    say(`${label}: starting ${live.length} Haraka node(s) and warming up (${c.warmup} messages each)`)
    for (const l of live) {
      try {
        const metricsPort = l.sc.metrics ? await freePort() : undefined
        const own = metricsPort ? { ...ctx, metricsListen: `127.0.0.1:${metricsPort}` } : ctx
        const config = typeof l.sc.config === 'function' ? l.sc.config(own) : l.sc.config
        const profDir = process.env.BENCH_PROFILE
        const cpuProfile = profDir ? path.resolve(profDir, `${l.sc.name}-${c.size}-${c.concurrency}.cpuprofile`) : undefined
        l.node = await BenchHaraka.start({ plugins: l.sc.plugins, config, dns: dns.address, withPackage: l.sc.withPackage, cpuProfile, cpus: ctx.pinning.haraka, proxy: l.sc.proxy })
        if (metricsPort) l.scraper = Scraper.start(`http://127.0.0.1:${metricsPort}/metrics`)
      } catch (err) {
        l.failure = `Haraka did not start: ${err instanceof Error ? err.message : String(err)}`
        continue
      }
      const startup = unexpected(l.sc, l.node.takeSevere())
      if (startup.length) {
        l.failure = `Haraka logged ${startup.length} line(s) at WARN or worse at start:\n${startup.slice(0, 10).join('\n')}`
        continue
      }
      const warm = await send(l, l.node, c.warmup, WARMUP_SEED)
      if (!warm.ok) l.failure = `warm-up: ${warm.detail}${harakaTail(l.node)}`
    }
    for (let round = 0; round < c.repeat; round++) {
      for (let i = 0; i < live.length; i++) {
        const l = live[(i + round) % live.length]
        if (l.failure || !l.node) continue
        // The node sat idle while the others took their turns: a short run
        // first brings it back to a server under load (its heap is kept by
        // --no-memory-reducer, see haraka-node.ts; its sockets, timers and
        // caches are not), so the measured run does not start cold.
        const rewarm = await send(l, l.node, c.rewarm, rewarmSeed(round))
        if (!rewarm.ok) {
          l.failure = `re-warm: ${rewarm.detail}${harakaTail(l.node)}`
          continue
        }
        dns.queries = []
        // Everything else this run makes the machine do is ours too: the
        // other nodes (idle), redis-server, and this process with the DNS
        // server and the load generator (counted once it has exited).
        const ours = [...live.flatMap((x) => (x.node?.running ? [x.node.pid] : [])), ...ctx.pids]
        const before = { haraka: ticksOf(l.node.pid), ours: ours.map(ticksOf), self: selfTicks(), machine: machineBusyTicks() }
        const res = await send(l, l.node, c.messages, runSeed(round))
        const haraka = ticksOf(l.node.pid) - before.haraka
        const other =
          machineBusyTicks() - before.machine - (selfTicks() - before.self) - ours.reduce((sum, pid, i) => sum + (ticksOf(pid) - before.ours[i] || 0), 0)
        const severe = unexpected(l.sc, l.node.takeSevere())
        if (!l.node.running || Number.isNaN(haraka)) l.failure = `Haraka exited during the run${harakaTail(l.node)}`
        else if (!res.ok) l.failure = `${res.detail}${harakaTail(l.node)}`
        else if (severe.length) l.failure = `Haraka logged ${severe.length} line(s) at WARN or worse:\n${severe.slice(0, 10).join('\n')}`
        else if (l.scraper?.errors.length) l.failure = `GET /metrics failed: ${l.scraper.errors.slice(0, 3).join('; ')}`
        if (l.failure) continue
        l.runs.push({
          rate: c.messages / res.seconds,
          cpuMs: (haraka / c.ticks / c.messages) * 1000,
          cpuPercent: (haraka / c.ticks / res.seconds) * 100,
          otherPercent: (Math.max(0, other) / c.ticks / res.seconds) * 100,
          dnsPerMsg: dns.queries.length / c.messages,
          loadCpuMs: res.loadCpuMs === undefined ? undefined : res.loadCpuMs / c.messages,
          outcomes: res.outcomes,
        })
        dns.queries = []
      }
    }
    return live.map((l) => {
      const base = { scenario: l.sc.name, size: c.size, concurrency: c.concurrency, messages: c.messages, rates: l.runs.map((r) => r.rate), cpus: l.runs.map((r) => r.cpuMs) }
      if (!l.failure && l.node && !l.node.running) l.failure = `Haraka exited after its runs${harakaTail(l.node)}`
      if (!l.failure && l.scraper && !l.scraper.count) l.failure = `GET /metrics was never answered${l.scraper.errors.length ? `: ${l.scraper.errors[0]}` : ''}`
      if (l.failure || !l.node) {
        return { ...base, ok: false, rate: NaN, cpuMsPerMsg: NaN, cpuPercent: NaN, otherCpuPercent: NaN, dnsPerMsg: NaN, peakRssMiB: NaN, failure: l.failure ?? 'not run' }
      }
      const m = medianRun(l.runs)
      const o = m.outcomes
      const sum = o ? o.accepted + o.refused + o.deferred : 0
      return {
        ...base,
        ok: true,
        loadCpuMsPerMsg: m.loadCpuMs,
        shares: o && sum ? { accepted: o.accepted / sum, refused: o.refused / sum, deferred: o.deferred / sum } : undefined,
        scrapes: l.scraper?.count,
        rate: m.rate,
        cpuMsPerMsg: m.cpuMs,
        cpuPercent: m.cpuPercent,
        otherCpuPercent: m.otherPercent,
        dnsPerMsg: m.dnsPerMsg,
        peakRssMiB: peakRssKiB(l.node.pid) / 1024,
      }
    })
  } finally {
    for (const l of live) {
      l.scraper?.stop()
      await l.node?.stop()
    }
  }
}

/** The pid of a cluster node, as the node tells it. */
async function serverPid(cluster: RedisCluster, port: number): Promise<number> {
  const m = /^process_id:(\d+)/m.exec(String(await cluster.command(port, 'INFO', 'server')))
  if (!m) throw new Error(`redis cluster node ${port}: no process_id in INFO server`)
  return Number(m[1])
}

/** CPU ticks of a process, NaN once it has gone. */
function ticksOf(pid: number): number {
  try {
    return cpuTicks(pid)
  } catch {
    return NaN
  }
}

/** The lines Haraka logged at WARN or worse that the scenario does not expect. */
function unexpected(sc: Scenario, lines: string[]): string[] {
  return lines.filter((line) => !sc.expectedWarnings?.some((re) => re.test(line)))
}

function harakaTail(node: BenchHaraka): string {
  const severe = node.takeSevere()
  if (severe.length) return `\nHaraka logged at WARN or worse:\n${severe.slice(0, 10).join('\n')}`
  const tail = node.log.trim().split('\n').slice(-10).join('\n')
  return tail ? `\nHaraka's last output:\n${tail}` : ''
}

main()
  .then((code) => {
    cleanupNow()
    process.exitCode = code
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    cleanupNow()
    process.exitCode = 1
  })
