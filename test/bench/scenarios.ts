// The Haraka setups `npm run bench` measures, as data. Each scenario is one
// Haraka node: its config/plugins lines and the files written into its
// config/ folder (over the node's own and the package's defaults). To add a
// setup, add an entry here; `BENCH_SCENARIOS=name,...` picks which run.
import { PLUGINS } from '../rig/haraka'

/** Servers the runner starts for the scenarios that name them. */
export type Need = 'redis' | 'redis-cluster'

/** What the runner knows when it writes a scenario's config files. */
export interface BenchContext {
  /** The private redis-server, when a scenario needs one. */
  redis?: { host: string; port: number }
  /** The private Redis Cluster's nodes ("host:port,..."), when a scenario needs one. */
  redisCluster?: { seeds: string }
  /** host:port of this node's own metrics listener (support-codes.ini [metrics] listen), for a scenario with `metrics`. */
  metricsListen?: string
}

export interface Scenario {
  /** Short name, used in the tables and in BENCH_SCENARIOS. */
  name: string
  /** One line for the legend of the report. */
  about: string
  /** config/plugins lines, in order. */
  plugins: string[]
  /** Files for the node's config/ folder, name → content. */
  config?: Record<string, string> | ((ctx: BenchContext) => Record<string, string>)
  /**
   * Install the package in the node (link the template node's node_modules);
   * default true. Without it, plugins load from Haraka's own install.
   */
  withPackage?: boolean
  /**
   * Lines Haraka may log at WARN or worse, at start or during a run (any
   * other fails the case): the attachment plugin names the missing bsdtar
   * at start and again when it first meets an archive.
   */
  expectedWarnings?: RegExp[]
  /** Servers to start before this scenario's Haraka. */
  needs?: Need[]
  /** Run only when named in BENCH_SCENARIOS (none is, today: every scenario runs by default). */
  optional?: boolean
  /** Accept PROXY lines from loopback (connection.ini [haproxy] hosts), as the realistic case's clients send. */
  proxy?: boolean
  /** The node gets a free loopback port for [metrics] listen (ctx.metricsListen), scraped every 5 s during the case. */
  metrics?: boolean
  /** The realistic case: the load expects the bundle's designed refusals and deferrals (mix.ts); otherwise every session is accepted. */
  refuses?: boolean
}

/** The scenario every other one is compared with (the ratio column). */
export const BASELINE = 'bare'

/**
 * After the plugins under test: accept every recipient (the test rig's
 * test_accept plugin) and discard the message (Haraka's queue/discard, which
 * the runner enables with YES_REALLY_DO_DISCARD), so the queue costs nothing.
 */
export const TAIL = ['test_accept', 'queue/discard']

// The client is always 127.0.0.1, up to 50 sessions at a time, sending as
// alice@sender.example to bob@example.com. Checks with a counter get a limit
// so high that their counting code runs on every message and never refuses.
const BUNDLE_CONFIG: Record<string, string> = {
  'support-codes-mailfrom.ini': '[sender_rate]\nlimit=1000000\n',
  // The default (10 per client IP) would refuse the 50-session cases.
  'support-codes-connect.ini': '[concurrency]\nmax=1000\n',
}

function redisIni(ctx: BenchContext): string {
  if (!ctx.redis) throw new Error('this scenario needs redis')
  return `[server]\nhost=${ctx.redis.host}\nport=${ctx.redis.port}\n`
}

function redisClusterIni(ctx: BenchContext): string {
  if (!ctx.redisCluster) throw new Error('this scenario needs redis-cluster')
  return `[cluster]\nnodes=${ctx.redisCluster.seeds}\n`
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'bare',
    about: 'Haraka with only an accept-all RCPT plugin and a discard queue',
    plugins: [...TAIL],
  },
  {
    name: 'bundle',
    about: 'the four support-codes plugins, default settings, memory store (sender_rate limit=1000000, concurrency max=1000)',
    plugins: [...PLUGINS, ...TAIL],
    config: BUNDLE_CONFIG,
  },
  {
    name: 'connect-mailfrom',
    about: 'support-codes/connect and support-codes/mailfrom only (G2, G1F, G34, G29), memory store',
    plugins: ['support-codes/connect', 'support-codes/mailfrom', ...TAIL],
    config: BUNDLE_CONFIG,
  },
  {
    name: 'rcpt',
    about: 'support-codes/rcpt only, default settings (two DNS lists on the local DNS server)',
    plugins: ['support-codes/rcpt', ...TAIL],
  },
  {
    name: 'data-content',
    about: 'support-codes/data with every content check on (the 200 KB zip is decoded and its directory read; on the scan thread with 10 and 50 sessions, in place with 1), SPF and DMARC off, clamd off',
    plugins: ['support-codes/data', ...TAIL],
    config: { 'support-codes-data.ini': '[spf]\nreject_fail=false\n\n[dmarc]\nreject=false\ntemperror=accept\n' },
  },
  {
    name: 'bundle-redis',
    about: 'as bundle, with [store] backend=redis on a private redis-server',
    plugins: [...PLUGINS, ...TAIL],
    config: (ctx) => ({
      ...BUNDLE_CONFIG,
      'support-codes.ini': '[store]\nbackend=redis\n',
      'redis.ini': redisIni(ctx),
    }),
    needs: ['redis'],
  },
  {
    name: 'bundle-redis-cluster',
    about: 'as bundle-redis, on a private Redis Cluster of 3 masters and 3 replicas (redis.ini [cluster] nodes)',
    plugins: [...PLUGINS, ...TAIL],
    config: (ctx) => ({
      ...BUNDLE_CONFIG,
      'support-codes.ini': '[store]\nbackend=redis\n',
      'redis.ini': redisClusterIni(ctx),
    }),
    needs: ['redis-cluster'],
  },
  {
    name: 'stock',
    about: "Haraka's own limit, headers and attachment plugins (for comparison), limit on a private redis-server, zip not among the refused extensions",
    plugins: ['limit', 'headers', 'attachment', ...TAIL],
    // Archives are not looked into without bsdtar (the bundle reads them
    // itself); the plugin still parses the body and names the attachment.
    expectedWarnings: [/\[attachment\] This plugin requires the 'bsdtar' binary/],
    config: (ctx) => ({
      'redis.ini': redisIni(ctx),
      // The plugin's own list, less zip (which it refuses by default): the
      // 200 KB message carries a zip that every scenario must accept.
      'attachment.ini': [
        'timeout=30',
        'disallowed_extensions=ade,adp,bat,chm,cmd,com,cpl,exe,hta,ins,isp,jar,jse,lib,lnk,mde,msc,msp,mst,pif,scr,sct,shb,sys,vb,vbe,vbs,vxd,wsc,wsf,wsh,dll',
        '[archive]',
        'allow_encrypted=false',
        'max_depth=10',
        'extensions=zip,tar,tgz,taz,z,gz,rar,7z',
        '',
      ].join('\n'),
      // Haraka reads limit.ini whole: every section the plugin uses is here.
      'limit.ini': [
        'tarpit_delay=0',
        '[main]',
        '[redis]',
        `host=${ctx.redis?.host}`,
        `port=${ctx.redis?.port}`,
        'database=4',
        '[concurrency]',
        'max=1000',
        '[recipients]',
        'max=100',
        '[unrecognized_commands]',
        'max=10',
        '[errors]',
        'max=10',
        '[rate_conn]',
        'default=1000000/1m',
        '[rate_rcpt_host]',
        'default=1000000/1m',
        '[rate_rcpt_sender]',
        'default=1000000/1m',
        '[rate_rcpt]',
        'default=1000000/1m',
        '',
      ].join('\n'),
    }),
    needs: ['redis'],
  },
]

// --- the realistic case -----------------------------------------------------

// The clients are the mix's (mix.ts): 1000 public IPs and 1000 sender
// domains, Zipf-drawn, presented through PROXY, so that Haraka's own PTR
// lookup, the bundle's PTR, DNS-list, MX, SPF and DMARC lookups all happen,
// answered by the bench DNS server. Bare Haraka takes the same PROXY
// connections. The concurrency and sender_rate settings are as in bundle.
export const REALISTIC: Scenario[] = [
  {
    name: 'bare',
    about: 'Haraka with only an accept-all RCPT plugin and a discard queue, PROXY from loopback (connection.ini [haproxy] hosts)',
    plugins: [...TAIL],
    proxy: true,
  },
  {
    name: 'bundle',
    about: 'the four support-codes plugins, default settings (sender_rate limit=1000000, concurrency max=1000), memory store, PROXY from loopback; listed clients refused at RCPT TO (G31/G32), clients without PTR deferred at MAIL FROM (G1F)',
    plugins: [...PLUGINS, ...TAIL],
    config: BUNDLE_CONFIG,
    proxy: true,
    refuses: true,
  },
]

// --- metrics on against off (issue 19) ----------------------------------------

function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name)
  if (!s) throw new Error(`no scenario ${name}`)
  return s
}

export const METRICS: Scenario[] = [
  scenario('bare'),
  { ...scenario('bundle'), about: `${scenario('bundle').about}, support-codes.ini [metrics] listen empty (the default: metrics off)` },
  {
    name: 'bundle-metrics',
    about: 'the bundle with support-codes.ini [metrics] listen on a loopback port of its own, GET /metrics at start and every 5 s while the case runs',
    plugins: [...PLUGINS, ...TAIL],
    config: (ctx) => {
      if (!ctx.metricsListen) throw new Error('this scenario needs a metrics port')
      return { ...BUNDLE_CONFIG, 'support-codes.ini': `[metrics]\nlisten=${ctx.metricsListen}\n` }
    },
    metrics: true,
  },
]

const KB = 1024

/** A group of scenarios measured together, each case against its own bare. */
export interface CaseSet {
  /** Used in BENCH_CASES and as the report's section. */
  name: 'standard' | 'realistic' | 'metrics'
  title: string
  /** One paragraph for the report: what the clients send. */
  about: string
  scenarios: Scenario[]
  sizes: number[]
  concurrency: number[]
  /** Sessions from the mix through PROXY (proxy-client.ts) instead of smtp-source. */
  mix?: boolean
}

export const CASE_SETS: CaseSet[] = [
  {
    name: 'standard',
    title: 'One client, one sender',
    about: 'Every session from 127.0.0.1, alice@sender.example to bob@example.com, sent by the load generator named above (smtp-source). No DNS list is asked about a loopback client.',
    scenarios: SCENARIOS,
    sizes: [2 * KB, 200 * KB],
    concurrency: [1, 10, 50],
  },
  {
    name: 'realistic',
    title: 'Realistic: public clients through PROXY, a sender mix',
    about:
      'Each session opens with a PROXY line naming one of 1000 client IPs (198.18.0.0/15) and sends as alice@ one of 1000 sender domains, both drawn with a Zipf distribution (exponent 1, seeded: both nodes of a round get the same sessions); every name is answered by the bench DNS server: each domain has MX, SPF (passing) and DMARC p=reject records, each client a PTR but every 20th by rank (from rank 7), and every 10th client by rank (from rank 3) is listed on one of the two default DNS lists. The bundle refuses the listed clients at RCPT TO and defers those without PTR at MAIL FROM; bare accepts all. msgs/s counts sessions, whatever their end. The 2 KB message is plain text of that size and the 200 KB one that of the standard case, each with a From line naming the sender of the session (the DMARC check aligns it). Sent by a Node client with PROXY (test/bench/proxy-client.ts) in a process of its own; its CPU per session is the load CPU column.',
    scenarios: REALISTIC,
    sizes: [2 * KB, 200 * KB],
    concurrency: [1, 10, 50],
    mix: true,
  },
  {
    name: 'metrics',
    title: 'Metrics on against off',
    about: 'As the standard case, 2 KB: the bundle with its metrics listener on and scraped, the bundle with metrics off (the default) and bare, taking turns. The cost of metrics is (bundle - bundle-metrics) / bare, per round, median over the rounds.',
    scenarios: METRICS,
    sizes: [2 * KB],
    concurrency: [1, 10, 50],
  },
]
