// `npm run bench`: throughput, CPU and memory of a Haraka node with the
// bundle against a bare one, driven by Postfix's smtp-source on loopback.
//
//   npm run bench                  every default scenario, 2 KB and 200 KB, 1/10/50 sessions
//   npm run bench -- --quick       one small case per scenario (BENCH_QUICK=1), a smoke test
//   npm run bench -- --write       also write docs/performance.md (BENCH_WRITE=1)
//
// Environment: BENCH_MESSAGES (messages per measured run, all sizes),
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
import { CaseResult, markdownReport, plainReport, RunInfo, sizeLabel } from './report'
import { BenchContext, Scenario, SCENARIOS } from './scenarios'
import { benchZone } from './zone'
import { benchMessage, messageFile } from './message'

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

interface Plan {
  quick: boolean
  scenarios: Scenario[]
  sizes: number[]
  concurrency: number[]
  messages: (size: number) => number
  warmup: (size: number) => number
  /** Messages sent to a node just before each of its measured runs. */
  rewarm: (size: number, concurrency: number) => number
  repeat: number
}

function plan(): Plan {
  const quick = flag('quick', 'BENCH_QUICK')
  const names = envList('BENCH_SCENARIOS')
  const scenarios = names
    ? names.map((n) => {
        const s = SCENARIOS.find((x) => x.name === n)
        if (!s) throw new Error(`BENCH_SCENARIOS: no scenario ${n} (there are ${SCENARIOS.map((x) => x.name).join(', ')})`)
        return s
      })
    : SCENARIOS.filter((s) => !s.optional)
  const sizes = envList('BENCH_SIZES')?.map(Number) ?? (quick ? [2 * KB] : [2 * KB, 200 * KB])
  const concurrency = envList('BENCH_CONCURRENCY')?.map(Number) ?? (quick ? [10] : [1, 10, 50])
  for (const n of [...sizes, ...concurrency]) if (!Number.isInteger(n) || n <= 0) throw new Error(`bad size or concurrency: ${n}`)
  const messages = envInt('BENCH_MESSAGES')
  const warmup = envInt('BENCH_WARMUP')
  const rewarm = envInt('BENCH_REWARM')
  const perRun = (size: number): number => messages ?? (quick ? 200 : (DEFAULT_MESSAGES[size] ?? Math.max(200, Math.round((2000 * 2 * KB) / size))))
  return {
    quick,
    repeat: envInt('BENCH_REPEAT') ?? (quick ? 1 : 5),
    scenarios,
    sizes,
    concurrency,
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
  let redis: Redis | undefined
  if (p.scenarios.some((s) => s.needs?.includes('redis'))) {
    say('starting a private redis-server on loopback')
    redis = await Redis.start()
    ctx.redis = { host: redis.host, port: redis.port }
    ctx.pids.push(redis.pid)
  }
  let cluster: RedisCluster | undefined
  if (p.scenarios.some((s) => s.needs?.includes('redis-cluster'))) {
    say('starting a private Redis Cluster on loopback (3 masters, 3 replicas)')
    cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 })
    ctx.redisCluster = { seeds: cluster.seeds }
    // Its processes' CPU is ours, as redis-server's is (the "other CPU" column).
    for (const port of cluster.ports) ctx.pids.push(await serverPid(cluster, port))
  }

  const total = p.sizes.length * p.concurrency.length
  say(
    `${total} case(s) of ${p.scenarios.length} scenario(s) (${p.scenarios.map((s) => s.name).join(', ')}), ` +
      `sizes ${p.sizes.map(sizeLabel).join(', ')}, sessions ${p.concurrency.join(', ')}, ${p.repeat} measured run(s) each`,
  )
  const results: CaseResult[] = []
  const messageLabels: string[] = []
  let n = 0
  try {
    for (const size of p.sizes) {
      const msg = benchMessage(size)
      messageLabels.push(`${sizeLabel(size)}: ${msg.label}`)
      say(`${sizeLabel(size)}: ${msg.label}`)
      const message = msg.text === undefined ? undefined : { file: messageFile(size, msg.text), text: msg.text }
      for (const concurrency of p.concurrency) {
        n++
        const c: CaseParams = { size, concurrency, messages: p.messages(size), warmup: p.warmup(size), rewarm: p.rewarm(size, concurrency), repeat: p.repeat, ticks, message }
        const label = `[${n}/${total}] ${sizeLabel(size)}, ${concurrency} sessions, ${c.messages} messages`
        for (const r of await runCase(p.scenarios, { ...ctx, pinning }, dns, load, c, label)) {
          results.push(r)
          if (r.ok) {
            say(`${label}, ${r.scenario}: ${r.rate.toFixed(1)} msgs/s (runs: ${r.rates.map((x) => x.toFixed(0)).join(', ')}), ${r.cpuMsPerMsg.toFixed(2)} CPU ms/msg (runs: ${r.cpus.map((x) => x.toFixed(2)).join(', ')}), peak RSS ${r.peakRssMiB.toFixed(0)} MiB`)
          } else {
            say('!!!!!!!!')
            say(`!!! ${label}, ${r.scenario}: FAILED`)
            for (const line of (r.failure ?? '').split('\n')) say(`!!! ${line}`)
            say('!!!!!!!!')
          }
        }
      }
    }
  } finally {
    await dns.stop()
    await redis?.stop()
    await cluster?.stop()
  }

  const [m, scenarios] = [machine(), p.scenarios]
  const info: RunInfo = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...m,
    haraka: harakaVersion(),
    load: load.name,
    messages: messageLabels,
    clockTicks: ticks,
    quick: p.quick,
    repeat: p.repeat,
    warmup: p.sizes.map((size) => `${sizeLabel(size)}: ${p.warmup(size)}`),
    seconds: (Date.now() - began) / 1000,
    pinning: pinning.about,
  }
  process.stdout.write('\n' + plainReport(info, results, scenarios))
  if (write) {
    const out = path.resolve(ROOT, process.env.BENCH_OUT || path.join('docs', 'performance.md'))
    fs.writeFileSync(out, markdownReport(info, results, scenarios))
    say(`wrote ${path.relative(ROOT, out)}`)
  }
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
}

interface Measured {
  rate: number
  cpuMs: number
  cpuPercent: number
  otherPercent: number
  dnsPerMsg: number
}

/** The run with the median msgs/s (the lower middle one of an even count). */
function medianRun(runs: Measured[]): Measured {
  const v = [...runs].sort((a, b) => a.rate - b.rate)
  return v[(v.length - 1) >> 1]
}

interface Live {
  sc: Scenario
  node?: BenchHaraka
  failure?: string
  runs: Measured[]
}

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
  try {
    say(`${label}: starting ${live.length} Haraka node(s) and warming up (${c.warmup} messages each)`)
    for (const l of live) {
      try {
        const config = typeof l.sc.config === 'function' ? l.sc.config(ctx) : l.sc.config
        const profDir = process.env.BENCH_PROFILE
        const cpuProfile = profDir ? path.resolve(profDir, `${l.sc.name}-${c.size}-${c.concurrency}.cpuprofile`) : undefined
        l.node = await BenchHaraka.start({ plugins: l.sc.plugins, config, dns: dns.address, withPackage: l.sc.withPackage, cpuProfile, cpus: ctx.pinning.haraka })
      } catch (err) {
        l.failure = `Haraka did not start: ${err instanceof Error ? err.message : String(err)}`
        continue
      }
      const startup = unexpected(l.sc, l.node.takeSevere())
      if (startup.length) {
        l.failure = `Haraka logged ${startup.length} line(s) at WARN or worse at start:\n${startup.slice(0, 10).join('\n')}`
        continue
      }
      const warm = await load.run({ ...run, port: l.node.port, messages: c.warmup })
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
        const rewarm = await load.run({ ...run, port: l.node.port, messages: c.rewarm })
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
        const res = await load.run({ ...run, port: l.node.port, messages: c.messages })
        const haraka = ticksOf(l.node.pid) - before.haraka
        const other =
          machineBusyTicks() - before.machine - (selfTicks() - before.self) - ours.reduce((sum, pid, i) => sum + (ticksOf(pid) - before.ours[i] || 0), 0)
        const severe = unexpected(l.sc, l.node.takeSevere())
        if (!l.node.running || Number.isNaN(haraka)) l.failure = `Haraka exited during the run${harakaTail(l.node)}`
        else if (!res.ok) l.failure = `${res.detail}${harakaTail(l.node)}`
        else if (severe.length) l.failure = `Haraka logged ${severe.length} line(s) at WARN or worse:\n${severe.slice(0, 10).join('\n')}`
        if (l.failure) continue
        l.runs.push({
          rate: c.messages / res.seconds,
          cpuMs: (haraka / c.ticks / c.messages) * 1000,
          cpuPercent: (haraka / c.ticks / res.seconds) * 100,
          otherPercent: (Math.max(0, other) / c.ticks / res.seconds) * 100,
          dnsPerMsg: dns.queries.length / c.messages,
        })
        dns.queries = []
      }
    }
    return live.map((l) => {
      const base = { scenario: l.sc.name, size: c.size, concurrency: c.concurrency, messages: c.messages, rates: l.runs.map((r) => r.rate), cpus: l.runs.map((r) => r.cpuMs) }
      if (!l.failure && l.node && !l.node.running) l.failure = `Haraka exited after its runs${harakaTail(l.node)}`
      if (l.failure || !l.node) {
        return { ...base, ok: false, rate: NaN, cpuMsPerMsg: NaN, cpuPercent: NaN, otherCpuPercent: NaN, dnsPerMsg: NaN, peakRssMiB: NaN, failure: l.failure ?? 'not run' }
      }
      const m = medianRun(l.runs)
      return {
        ...base,
        ok: true,
        rate: m.rate,
        cpuMsPerMsg: m.cpuMs,
        cpuPercent: m.cpuPercent,
        otherCpuPercent: m.otherPercent,
        dnsPerMsg: m.dnsPerMsg,
        peakRssMiB: peakRssKiB(l.node.pid) / 1024,
      }
    })
  } finally {
    for (const l of live) await l.node?.stop()
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
