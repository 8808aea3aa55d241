// The benchmark's results as a plain table (stdout) and as Markdown
// (docs/performance.md with --write).
import { BASELINE, CaseSet, Scenario } from './scenarios'
import { Outcome } from './mix'

export interface CaseResult {
  scenario: string
  size: number
  concurrency: number
  messages: number
  ok: boolean
  /** Messages per second, wall clock of the load generator's run (median run). */
  rate: number
  /** msgs/s of every measured run. */
  rates: number[]
  /** CPU ms per message of each measured run. */
  cpus: number[]
  /** Haraka's user+system CPU per message, in ms. */
  cpuMsPerMsg: number
  /** Haraka's CPU time over wall time during the run, in %. */
  cpuPercent: number
  /**
   * CPU the rest of the machine used during the run (not Haraka, the load
   * generator, the DNS server or redis), in % of one core: another job.
   */
  otherCpuPercent: number
  /** Queries the loopback DNS server answered during the run, per message. */
  dnsPerMsg: number
  /** Haraka's peak RSS (VmHWM) at the end of the case, in MiB. */
  peakRssMiB: number
  /** Why the case failed. */
  failure?: string
  /** The realistic case: the PROXY client's own CPU per message, in ms (median run). */
  loadCpuMsPerMsg?: number
  /** The realistic case: the share of sessions that ended each way (median run). */
  shares?: Record<Outcome, number>
  /** The metrics case: scrapes of the node's /metrics answered during the case. */
  scrapes?: number
}

/** One case set's results, reported as a section of its own. */
export interface Section {
  set: CaseSet
  scenarios: Scenario[]
  results: CaseResult[]
  /** The realistic case: the share of sessions the mix is designed to end each way with the bundle. */
  designed?: Record<Outcome, number>
}

export interface RunInfo {
  date: string
  cpu: string
  cores: number
  memory: string
  kernel: string
  node: string
  haraka: string
  load: string
  /** What each size's message is, e.g. "200 KB: zip attachment ...". */
  messages: string[]
  clockTicks: number
  quick: boolean
  repeat: number
  /** Warm-up messages per node, per size label, e.g. "2 KB: 3000". */
  warmup: string[]
  seconds: number
  /** Which CPUs Haraka and the rest ran on. */
  pinning: string
}

/** other CPU above this (% of a core) marks a run made on a busy machine. */
export const BUSY_PERCENT = 15

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} B`
}

/** Each round's msgs/s over the baseline's in the same round, when the rounds pair up. */
export function pairedRatios(results: CaseResult[], r: CaseResult): number[] | undefined {
  const base = baselineOf(results, r)
  if (!base || r.rates.length < 2 || r.rates.length !== base.rates.length) return undefined
  return r.rates.map((x, i) => x / base.rates[i])
}

function baselineOf(results: CaseResult[], r: CaseResult): CaseResult | undefined {
  if (r.scenario === BASELINE || !r.ok) return undefined
  return results.find((b) => b.scenario === BASELINE && b.size === r.size && b.concurrency === r.concurrency && b.ok)
}

/**
 * msgs/s of a scenario over the baseline's, for the same case: the median of
 * the per-round ratios (each round runs every scenario once, back to back),
 * so that the machine's speed drifting between rounds cancels out; the ratio
 * of the two medians when the rounds do not pair up.
 */
export function ratio(results: CaseResult[], r: CaseResult): number | undefined {
  const base = baselineOf(results, r)
  if (!base) return undefined
  const paired = pairedRatios(results, r)?.sort((a, b) => a - b)
  if (!paired) return r.rate / base.rate
  const mid = paired.length >> 1
  return paired.length % 2 ? paired[mid] : (paired[mid - 1] + paired[mid]) / 2
}

/** What the bundle is held to, per case set and size: scenario msgs/s over bare's. */
export const TARGETS: Array<{ set: CaseSet['name']; scenario: string; size: number; min: number }> = [
  { set: 'standard', scenario: 'bundle', size: 2 * 1024, min: 0.9 },
  { set: 'standard', scenario: 'bundle', size: 200 * 1024, min: 0.75 },
  { set: 'standard', scenario: 'data-content', size: 200 * 1024, min: 0.75 },
  { set: 'realistic', scenario: 'bundle', size: 2 * 1024, min: 0.85 },
  { set: 'realistic', scenario: 'bundle', size: 200 * 1024, min: 0.8 },
]

/** The metrics case: what metrics on may cost, as a fraction of bare's msgs/s. */
export const METRICS_MAX_COST = 0.02
const METRICS_ON = 'bundle-metrics'
const METRICS_OFF = 'bundle'

/**
 * What metrics on cost per round: (bundle - bundle-metrics) / bare, msgs/s
 * of the same round; undefined when the rounds do not pair up.
 */
export function metricsCosts(results: CaseResult[], size: number, concurrency: number): number[] | undefined {
  const find = (name: string): CaseResult | undefined => results.find((r) => r.scenario === name && r.size === size && r.concurrency === concurrency && r.ok)
  const [on, off, bare] = [find(METRICS_ON), find(METRICS_OFF), find(BASELINE)]
  if (!on || !off || !bare) return undefined
  const n = bare.rates.length
  if (!n || on.rates.length !== n || off.rates.length !== n) return undefined
  return bare.rates.map((b, i) => (off.rates[i] - on.rates[i]) / b)
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** One line per session count of the metrics case: the median cost, the rounds' range, and the target. */
export function metricsLines(results: CaseResult[]): string[] {
  const out: string[] = []
  for (const size of [...new Set(results.map((r) => r.size))]) {
    for (const conc of [...new Set(results.filter((r) => r.size === size).map((r) => r.concurrency))]) {
      const costs = metricsCosts(results, size, conc)
      if (!costs) {
        out.push(`metrics on at ${sizeLabel(size)}, ${conc} sessions: not measured (a scenario failed or ran one round)`)
        continue
      }
      const q = median(costs)
      out.push(
        `metrics on costs ${fixed(q, 3)} of ${BASELINE} at ${sizeLabel(size)}, ${conc} sessions (rounds ${fixed(Math.min(...costs), 3)} to ${fixed(Math.max(...costs), 3)}); ` +
          `at most ${METRICS_MAX_COST.toFixed(2)}: ${q <= METRICS_MAX_COST ? 'met' : 'NOT met'}`,
      )
    }
  }
  return out
}

/** One line per target of the case set: the ratios of each session count and whether each meets it. */
export function targetLines(results: CaseResult[], set: CaseSet['name'] = 'standard'): string[] {
  const out: string[] = []
  for (const t of TARGETS.filter((x) => x.set === set)) {
    const rows = results.filter((r) => r.scenario === t.scenario && r.size === t.size)
    if (!rows.length) continue
    const cells = rows.map((r) => {
      const q = ratio(results, r)
      return `${r.concurrency} sessions ${q === undefined ? 'not measured' : `${fixed(q, 2)} ${q >= t.min ? 'met' : 'NOT met'}`}`
    })
    out.push(`${t.scenario} / ${BASELINE} at ${sizeLabel(t.size)}, at least ${t.min.toFixed(2)}: ${cells.join(', ')}`)
  }
  return out
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-'
}

interface Table {
  head: string[]
  rows: string[][]
  /** Columns aligned right (numbers). */
  right: boolean[]
}

function pct(x: number): string {
  return `${fixed(x * 100, 1)} %`
}

/** accepted / refused / deferred shares, as the report shows them. */
export function sharesText(s: Record<Outcome, number>): string {
  return `${pct(s.accepted)} / ${pct(s.refused)} / ${pct(s.deferred)}`
}

function caseTable(results: CaseResult[], mix = false): Table {
  const head = ['scenario', 'size', 'sessions', 'messages', 'msgs/s', 'spread', 'CPU ms/msg', 'Haraka CPU', 'peak RSS', 'DNS/msg', 'other CPU', `/ ${BASELINE}`]
  if (mix) head.push('load CPU ms/msg', 'accepted / refused / deferred')
  const rows = results.map((r) => {
    const q = ratio(results, r)
    const extra = mix ? [r.ok ? fixed(r.loadCpuMsPerMsg ?? NaN, 2) : '-', r.ok && r.shares ? sharesText(r.shares) : '-'] : []
    return [
      r.scenario,
      sizeLabel(r.size),
      String(r.concurrency),
      String(r.messages),
      r.ok ? fixed(r.rate, 1) : 'FAILED',
      r.ok && r.rates.length > 1 ? `±${fixed(((Math.max(...r.rates) - Math.min(...r.rates)) / 2 / r.rate) * 100, 0)} %` : '-',
      r.ok ? fixed(r.cpuMsPerMsg, 2) : '-',
      r.ok ? `${fixed(r.cpuPercent, 0)} %` : '-',
      r.ok ? `${fixed(r.peakRssMiB, 0)} MiB` : '-',
      r.ok ? fixed(r.dnsPerMsg, 1) : '-',
      r.ok ? `${fixed(r.otherCpuPercent, 0)} %` : '-',
      q === undefined ? '' : fixed(q, 2),
      ...extra,
    ]
  })
  return { head, rows, right: head.map((_, i) => i > 0) }
}

// One row per scenario other than the baseline and size, one column per
// concurrency: scenario msgs/s divided by the baseline's (median of the
// rounds, and in brackets the lowest and highest round).
function ratioTable(results: CaseResult[]): Table | undefined {
  const conc = [...new Set(results.map((r) => r.concurrency))]
  const sizes = [...new Set(results.map((r) => r.size))]
  const names = [...new Set(results.map((r) => r.scenario))].filter((n) => n !== BASELINE)
  if (!names.length || !results.some((r) => r.scenario === BASELINE)) return undefined
  const rows: string[][] = []
  for (const name of names) {
    for (const size of sizes) {
      const cells = conc.map((c) => {
        const r = results.find((x) => x.scenario === name && x.size === size && x.concurrency === c)
        if (!r) return ''
        const q = ratio(results, r)
        const p = pairedRatios(results, r)
        const range = p ? ` (${fixed(Math.min(...p), 2)}-${fixed(Math.max(...p), 2)})` : ''
        return q === undefined ? (r.ok ? '-' : 'FAILED') : fixed(q, 2) + range
      })
      rows.push([`${name} / ${BASELINE}`, sizeLabel(size), ...cells])
    }
  }
  return { head: ['msgs/s ratio', 'size', ...conc.map((c) => `${c} sessions`)], rows, right: [false, true, ...conc.map(() => true)] }
}

function plain(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i].length)))
  const line = (cells: string[]): string =>
    cells.map((c, i) => (t.right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n')
}

function markdown(t: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(t.head), `|${t.right.map((r) => (r ? '---:' : '---')).join('|')}|`, ...t.rows.map(line)].join('\n')
}

function legend(info: RunInfo): string[] {
  return [
    `Each case (size, sessions) starts a fresh Haraka process per scenario (node --no-memory-reducer, bare included: each node sits idle while the others take their turns, and V8 would shrink an idle heap that a server under steady load keeps), warms it up with the same load (${info.warmup.join(', ')} messages: a fresh process runs slower for its first thousands of sessions, JIT and heap growth, which a server pays once), then the scenarios take turns for ${info.repeat} measured run(s) each, each run right after a short re-warm of the same node (a tenth of a run).`,
    "msgs/s: messages (in the realistic case, sessions, however they end) over the wall clock of the load generator's run (median run); spread: half the range of the runs, relative to the median.",
    `CPU ms/msg, Haraka CPU: the Haraka process's user+system time, all its threads (the data plugin's scan thread included), from /proc/PID/stat (${info.clockTicks} ticks/s), per message and over wall time (median run); above 100 % the process used more than one core.`,
    "peak RSS: the Haraka process's VmHWM at the end of the case (warm-up and all runs included).",
    'DNS/msg: queries the loopback DNS server answered during the run, per message.',
    `other CPU: what the rest of the machine used during the run (all but Haraka, the load generator, the DNS server and redis; steal time included), in % of one core; above ${BUSY_PERCENT} % the run shared the machine with other work.`,
    `/ ${BASELINE}: msgs/s divided by ${BASELINE}'s run of the same round (the rounds run every scenario once, back to back, in rotating order), median over the rounds; the machine's speed drifts by tens of percent over minutes, and pairing each run with a ${BASELINE} run made moments before or after cancels most of it.`,
    "load CPU ms/msg (realistic case): the PROXY client's own user+system CPU per session, measured in its process (process.cpuUsage); it runs on the same 2 cores as Haraka, for bare and bundle alike, so the ratio to bare is on the same generator.",
    `CPUs: ${info.pinning}`,
  ]
}

function machineLines(info: RunInfo): string[] {
  return [
    `date: ${info.date}`,
    `machine: ${info.cpu}, ${info.cores} cores, ${info.memory}, ${info.kernel}`,
    `software: Node.js ${info.node}, Haraka ${info.haraka} (one process, nodes=0, log level warn)`,
    `load: ${info.load} (standard and metrics cases); the realistic case: a Node client sending a PROXY line first (test/bench/proxy-client.ts), in a process of its own`,
    `messages: ${info.messages.join('; ')}`,
    `run time: ${Math.round(info.seconds)} s${info.quick ? ' (quick mode: one small case, not a measurement)' : ''}`,
  ]
}

function busyOf(results: CaseResult[]): CaseResult[] {
  return results.filter((r) => r.ok && r.otherCpuPercent > BUSY_PERCENT)
}

/** Lines under a section's tables: targets, the metrics cost, the designed shares. */
function sectionNotes(sec: Section): { targets: string[]; metrics: string[]; designed?: string } {
  return {
    targets: targetLines(sec.results, sec.set.name),
    metrics: sec.set.name === 'metrics' ? metricsLines(sec.results) : [],
    designed: sec.designed
      ? `Sessions as designed with the bundle, by the mix's Zipf weights (a run's sessions are a sample of them): accepted / refused / deferred ${sharesText(sec.designed)}`
      : undefined,
  }
}

export function plainReport(info: RunInfo, sections: Section[]): string {
  const out = ['haraka-plugin-support-codes benchmark', ...machineLines(info)]
  for (const sec of sections) {
    const mix = sec.set.mix === true
    out.push('', `== ${sec.set.name}: ${sec.set.title}`, '', plain(caseTable(sec.results, mix)))
    const rt = ratioTable(sec.results)
    if (rt) out.push('', plain(rt))
    const notes = sectionNotes(sec)
    if (notes.designed) out.push('', notes.designed)
    if (notes.targets.length) out.push('', 'targets:', ...notes.targets.map((l) => `  ${l}`))
    if (notes.metrics.length) out.push('', 'metrics:', ...notes.metrics.map((l) => `  ${l}`))
    out.push('', 'scenarios:', ...sec.scenarios.map((s) => `  ${s.name}: ${s.about}`))
  }
  out.push('', ...legend(info).map((l) => `- ${l}`))
  const all = sections.flatMap((sec) => sec.results)
  const busy = busyOf(all)
  if (busy.length) out.push('', `WARNING: ${busy.length} case(s) ran while other work used more than ${BUSY_PERCENT} % of a core (other CPU): their numbers are not reliable`)
  const failed = all.filter((r) => !r.ok)
  if (failed.length) out.push('', `FAILED: ${failed.length} case(s), see the messages above`)
  return out.join('\n') + '\n'
}

function markdownSection(sec: Section): string[] {
  const rt = ratioTable(sec.results)
  const notes = sectionNotes(sec)
  const busy = busyOf(sec.results)
  return [
    `## ${sec.set.title}`,
    '',
    sec.set.about,
    '',
    'Scenarios:',
    '',
    ...sec.scenarios.map((s) => `- **${s.name}**: ${s.about}`),
    '',
    markdown(caseTable(sec.results, sec.set.mix === true)),
    '',
    ...(rt ? [markdown(rt), ''] : []),
    ...(notes.designed ? [`${notes.designed}.`, ''] : []),
    ...(notes.targets.length ? ['Targets:', '', ...notes.targets.map((l) => `- ${l}`), ''] : []),
    ...(notes.metrics.length ? ['Metrics on against off (target: at most 0.02 of bare):', '', ...notes.metrics.map((l) => `- ${l}`), ''] : []),
    ...(busy.length
      ? [`**${busy.length} case(s) ran while other work used more than ${BUSY_PERCENT} % of a core (the other CPU column): their numbers, and the ratios built on them, are not reliable.**`, '']
      : []),
  ]
}

export function markdownReport(info: RunInfo, sections: Section[]): string {
  return [
    '# Performance',
    '',
    'Generated by `npm run bench -- --write` (test/bench/); numbers from one run on the machine below, every case set (standard, realistic, metrics) in the same run.',
    '',
    ...machineLines(info).map((l) => `- ${l}`),
    '',
    'How the numbers are taken:',
    '',
    ...legend(info).map((l) => `- ${l}`),
    '',
    ...sections.flatMap(markdownSection),
  ].join('\n')
}
