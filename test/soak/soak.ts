// The load and fault scenario: one Haraka node with the four plugins, the
// Redis store, clamd and callouts, driven by many concurrent SMTP clients
// sending a mix of clean and refused mail while DNS turns slow and then
// SERVFAILs, Redis and clamd are killed and restarted, and the callout
// server hangs. Parameterised by size: soak-short.test.ts runs it in the
// normal suite, soak.long.ts at full size (`npm run soak`).
//
// The load is released in step with the faults, so that every fault meets
// traffic whatever the machine's speed: each step (a fault, or a burst of
// connections from one address for G2) owns a share of the sessions; the
// first part of that share starts while the fault is on, spread over its
// time, the rest once it is over, at full concurrency; the last 12 % run
// after every fault, as a recovery check. Each session comes from its own
// client address and is recorded command by command with times, so that
// its outcome can be judged against the faults it met.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { Haraka } from '../rig/haraka'
import { TestDns, ptrName, reverseName } from '../rig/dns-server'
import { Redis } from '../rig/redis'
import { Clamd, EICAR } from '../rig/clamd'
import { Downstream } from '../rig/downstream'
import { Reply, SmtpClient, encodeBody, message } from '../rig/smtp-client'
import { mimeMessage } from '../rig/mime-build'
import { mulberry32 } from '../rig/prng'
import { waitFor } from '../rig/wait'

// --- the exact lines ----------------------------------------------------------

const SS = 'bl.score.senderscore.com'
const XBL = 'xbl.spamhaus.org'
export const LINES = {
  G2: '421 Too many concurrent connections from this client (G2)',
  G34: '550 5.0.0 Sender is not allowed to send with empty mail_from',
  G1B: '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)',
  VIRUS: '550 5.7.1 Virus found (G3,G4,G5)',
  SCANNER_DOWN: '451 4.3.0 Virus scanner unavailable, try again later',
  g1f: (ip: string): string => `450 4.7.1 Client host ${ip} has no PTR record (G1F)`,
  g31: (ip: string): string =>
    `554 5.7.1 ACL dns_rbl; Client host [${ip}] blocked using ${SS}=127.0.0.2 Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)`,
  g8: (rcpt: string): string => `550 5.1.1 ${rcpt}: Email address could not be found, or was misspelled (G8, G9)`,
  g7: (rcpt: string): string => `550 5.7.1 ${rcpt}: The recipient's server refused to accept your message (G7)`,
  g6: (rcpt: string): string => `450 4.4.1 ${rcpt}: The recipient's server was temporarily unavailable to accept your message (G6)`,
}

// --- the scenario's parameters --------------------------------------------------

export interface SoakOptions {
  /** Shown in the summary. */
  name: string
  /** Concurrent client connections (one worker each). */
  concurrency: number
  /** Sessions, each one attempt to send one message. */
  messages: number
  /** How long each fault lasts at least, ms. */
  faultMs: number
  /** Pause between the end of one fault and the start of the next, ms. */
  gapMs: number
  /** DNS answer delay while DNS is slow, ms (below [dns] timeout). */
  dnsDelayMs: number
  /** A client waiting this long for any reply counts as a failure, ms. */
  clientTimeoutMs: number
  /** The whole run, faults included, is abandoned after this, ms. */
  deadlineMs: number
  /** Haraka's log level. */
  logLevel?: string
  /** Seed of the mix (the same seed, the same sequence of sessions). */
  seed?: number
}

/** [concurrency] max on the node; a burst opens this many plus BURST_EXTRA from one address. */
const CONC_MAX = 10
const BURST_EXTRA = 3
const DNS_TIMEOUT_S = 1
const STORE_TIMEOUT_S = 0.5
const CALLOUT_TIMEOUT_S = 1
const VIRUS_TIMEOUT_S = 1
/** [dnsbl] recheck: a zone switched off by the SERVFAILs is tested again this often. */
const DNSBL_RECHECK_S = 1
const RCPT_OK = 'bob@example.com'
const CALLOUT_DOMAIN = 'callout.example'
const CALLOUT_OK_ANSWER = '250 2.1.5 OK'
const CALLOUT_REFUSED_ANSWER = '554 5.7.1 Not for you'
const CALLOUT_LATER_ANSWER = '450 4.2.0 Try later'

// --- the mix ------------------------------------------------------------------

export type Kind =
  | 'clean' | 'callout_ok' | 'null_sender' | 'listed' | 'unknown_rcpt' | 'callout_refused' | 'callout_temp'
  | 'banned' | 'virus' | 'drop_greeting' | 'drop_ehlo' | 'drop_mail' | 'drop_data'

/** Sessions per 100 of each kind. */
const MIX: Array<[Kind, number]> = [
  ['clean', 40], ['callout_ok', 6], ['null_sender', 5], ['listed', 7], ['unknown_rcpt', 7],
  ['callout_refused', 4], ['callout_temp', 3], ['banned', 6], ['virus', 6],
  ['drop_greeting', 4], ['drop_ehlo', 4], ['drop_mail', 4], ['drop_data', 4],
]

/** What each kind gets when no fault is near. */
const NORMAL: Record<Kind, string> = {
  clean: 'accepted', callout_ok: 'accepted', null_sender: 'G34', listed: 'G31', unknown_rcpt: 'G8',
  callout_refused: 'G7', callout_temp: 'G6', banned: 'G1B', virus: 'VIRUS',
  drop_greeting: 'dropped', drop_ehlo: 'dropped', drop_mail: 'dropped', drop_data: 'dropped',
}

/** Kinds that send MAIL FROM (and so can get G1F). */
const SENDS_MAIL = new Set<Kind>(['clean', 'callout_ok', 'null_sender', 'listed', 'unknown_rcpt', 'callout_refused', 'callout_temp', 'banned', 'virus', 'drop_mail', 'drop_data'])
/** Kinds whose message reaches the virus scan (a listed client does too when a DNS fault lets it through). */
const SCANNED = new Set<Kind>(['clean', 'callout_ok', 'virus'])


/** While a fault is on, the kinds it acts on are this many times as common, so that each fault meets enough of them. */
const BIAS: Partial<Record<StepName, Partial<Record<Kind, number>>>> = {
  dns_slow: { clean: 2, listed: 2 },
  dnsbl_servfail: { listed: 5 },
  clamd_down: { clean: 2, virus: 2 },
  callout_hang: { callout_ok: 5, callout_refused: 5 },
}

/** The kind of every session; the sessions that start while a fault is on get its BIAS. */
function planKinds(n: number, seed: number): Kind[] {
  const rnd = mulberry32(seed)
  return Array.from({ length: n }, (_, i) => {
    const during = stepDuring(i, n)
    const bias = during ? BIAS[during] ?? {} : {}
    const mix = MIX.map(([k, w]): [Kind, number] => [k, w * (bias[k] ?? 1)])
    const total = mix.reduce((sum, [, w]) => sum + w, 0)
    let x = rnd() * total
    for (const [kind, w] of mix) {
      if ((x -= w) < 0) return kind
    }
    return 'clean'
  })
}

// Every session comes from an address of its own, as an MX sees mail from
// many places: so the bundle's DNS cache ([dns] cache_ttl) does not hide the
// DNS faults, no two of the load's connections share an address, and G2 is
// met only by the bursts. Clean clients in 198.18.128.0/17, listed ones in
// 198.19.0.0/16 (one wildcard record per /24 in the DNS list zone).
const cleanIp = (n: number): string => `198.18.${128 + (n >> 8)}.${n & 255}`
const listedIp = (n: number): string => `198.19.${n >> 8}.${n & 255}`
const BURST_IP = '198.19.250.1'

// --- the faults -----------------------------------------------------------------

export type FaultName = 'dns_slow' | 'dnsbl_servfail' | 'ptr_servfail' | 'redis_down' | 'clamd_down' | 'callout_hang'
type StepName = FaultName | 'burst'

/** When each step starts: the share of sessions started. The last share is the recovery tail. */
const STEPS: Array<{ at: number; step: StepName }> = [
  { at: 0.02, step: 'burst' },
  { at: 0.08, step: 'dns_slow' },
  { at: 0.2, step: 'dnsbl_servfail' },
  { at: 0.32, step: 'ptr_servfail' },
  { at: 0.44, step: 'redis_down' },
  { at: 0.56, step: 'clamd_down' },
  { at: 0.68, step: 'callout_hang' },
  { at: 0.8, step: 'burst' },
]
const TAIL_AT = 0.88
/** The part of a step's share of sessions that starts while its fault is on. */
const DURING_SHARE = 0.6

/** Session numbers of step i: [first, first after the fault, first of the next step]. */
function region(i: number, n: number): [number, number, number] {
  const from = Math.floor(STEPS[i].at * n)
  const to = Math.floor((i + 1 < STEPS.length ? STEPS[i + 1].at : TAIL_AT) * n)
  return [from, from + Math.floor((to - from) * DURING_SHARE), to]
}

/** The step whose fault is on when session i of n starts, if any. */
function stepDuring(i: number, n: number): StepName | undefined {
  if (i >= Math.floor(TAIL_AT * n)) return undefined
  for (let k = STEPS.length - 1; k >= 0; k--) {
    const [from, mid] = region(k, n)
    if (i >= from) return i < mid ? STEPS[k].step : undefined
  }
  return undefined
}

/** After a fault ends, sessions this long after it may still see its effects (a zone switched off waits for its recheck). */
const GRACE_MS: Record<FaultName, number> = {
  dns_slow: DNSBL_RECHECK_S * 1000 + 1500,
  dnsbl_servfail: DNSBL_RECHECK_S * 1000 + 1500,
  ptr_servfail: 500,
  redis_down: 500,
  clamd_down: 500,
  callout_hang: 500,
}

export interface Window {
  fault: FaultName
  /** ms from the start: applying began, fully applied, removing began, fully removed. */
  applyAt: number
  start: number
  end: number
  restoredAt: number
}

// --- sessions ---------------------------------------------------------------------

interface Exchange {
  cmd: string
  sentAt: number
  replyAt?: number
  reply?: string
}

export interface Session {
  n: number
  kind: Kind
  ip: string
  rcpt: string
  id: string
  start: number
  end: number
  steps: Exchange[]
  /** accepted, dropped, a code's label (G34, G1F, ...), or unexpected: / failed: with the detail. */
  outcome: string
  /** The command whose reply decided the outcome. */
  at?: string
  error?: string
  burst?: boolean
}

/** The label of a refusal line, or undefined when it is none the scenario knows. */
function label(text: string, s: Session): string | undefined {
  const table: Record<string, string> = {
    [LINES.G2]: 'G2', [LINES.G34]: 'G34', [LINES.G1B]: 'G1B', [LINES.VIRUS]: 'VIRUS', [LINES.SCANNER_DOWN]: 'SCANNER_DOWN',
    [LINES.g1f(s.ip)]: 'G1F', [LINES.g31(s.ip)]: 'G31', [LINES.g8(s.rcpt)]: 'G8', [LINES.g7(s.rcpt)]: 'G7', [LINES.g6(s.rcpt)]: 'G6',
  }
  return table[text]
}

/** Where each label may be sent. */
const LABEL_AT: Record<string, string> = {
  G2: '(greeting)', G34: 'MAIL', G1F: 'MAIL', G31: 'RCPT', G8: 'RCPT', G7: 'RCPT', G6: 'RCPT',
  G1B: '(body)', VIRUS: '(body)', SCANNER_DOWN: '(body)', accepted: '(body)',
}

function recipientFor(kind: Kind, n: number): string {
  switch (kind) {
    case 'unknown_rcpt': return `nobody${n}@example.com`
    case 'callout_ok': return `ok${n}@${CALLOUT_DOMAIN}`
    case 'callout_refused': return `refused${n}@${CALLOUT_DOMAIN}`
    case 'callout_temp': return `later${n}@${CALLOUT_DOMAIN}`
    default: return RCPT_OK
  }
}

const MANUAL = Buffer.alloc(96 * 1024, '%PDF-1.4 not really a manual\n')

function messageFor(kind: Kind, from: string, rcpt: string, id: string): string {
  const headers = [`X-Soak-Id: ${id}`]
  if (kind === 'banned') {
    // Large enough for the data plugin's scan thread ([scan] thread_min_bytes).
    return mimeMessage({
      from, to: rcpt, headers,
      attachments: [{ name: 'manual.pdf', data: MANUAL }, { name: 'setup.exe', data: Buffer.from('MZ not really a program') }],
    })
  }
  if (kind === 'virus') {
    return mimeMessage({ from, to: rcpt, headers, attachments: [{ name: 'eicar.txt', type: 'text/plain', data: EICAR }] })
  }
  return message({ from, to: rcpt, subject: `soak ${id}`, headers: { 'X-Soak-Id': id }, body: 'Hello from the soak run.\n'.repeat(20) })
}

// --- the run ------------------------------------------------------------------------

export interface SoakResult {
  opts: SoakOptions
  sessions: Session[]
  bursts: Session[][]
  windows: Window[]
  durationMs: number
  /** Messages the queue holds, by X-Soak-Id. */
  queuedIds: string[]
  queuedCount: number
  running: boolean
  log: string
  concKeys: string[]
  peakRssKiB?: number
  /** Haraka's VmRSS each second, from just after its start to the end of the load. */
  rssSamplesKiB: number[]
  harakaCpuS?: number
  /** Most client sessions open at once. */
  peakInFlight: number
  /** Event-loop delay of the test process (clients, DNS and callout servers), ms. */
  loopDelayMs: { p99: number; max: number }
  /** When a DNS list was switched off by the bundle, as its log said (ms from the start; to is Infinity while still off). */
  zoneOff: Array<{ zone: string; from: number; to: number }>
  /** What ran out of time per session, from Haraka's log. */
  timeouts: LoadTimeouts
  rssNote?: string
  deadlineHit: boolean
  dnsQueries: number
  downstreamConnections: number
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The Haraka process serving dir (nodes=0: one process), found by its config folder in /proc/PID/cmdline. */
function harakaPid(dir: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const args = fs.readFileSync(path.join('/proc', entry, 'cmdline'), 'utf8').split('\0')
      const c = args.indexOf('-c')
      if (c >= 0 && args[c + 1] === dir && args.some((a) => /haraka/i.test(a))) return Number(entry)
    } catch {
      // the process ended while we looked
    }
  }
  return undefined
}

function procStats(pid: number): { rssKiB: number; cpuS: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKiB = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN)
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux).
  const cpuS = (Number(rest[14 - 3]) + Number(rest[15 - 3])) / 100
  return { rssKiB, cpuS }
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  if (opts.messages > 127 * 256) throw new Error(`at most ${127 * 256} sessions (one client address each)`)
  const sessionsN = Array.from({ length: opts.messages }, (_, n) => n)
  const poolIps = [...sessionsN.map(cleanIp), ...sessionsN.map(listedIp)]
  const ptrNames = poolIps.map((ip) => ptrName(ip))
  const dnsblNames = poolIps.flatMap((ip) => [reverseName(ip, SS), reverseName(ip, XBL)])

  const records: Record<string, Array<{ type: 'A' | 'PTR' | 'MX'; data: string | { preference: number; exchange: string } }>> = {
    '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.soak.example' }],
    '*.19.198.in-addr.arpa': [{ type: 'PTR', data: 'client.soak.example' }],
    [`2.0.0.127.${SS}`]: [{ type: 'A', data: '127.0.0.2' }],
    [`2.0.0.127.${XBL}`]: [{ type: 'A', data: '127.0.0.4' }],
    'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
    'mx.sender.example': [{ type: 'A', data: '198.51.100.25' }],
  }
  for (let net = 0; net <= (opts.messages - 1) >> 8; net++) records[`*.${net}.19.198.${SS}`] = [{ type: 'A', data: '127.0.0.2' }]
  const dns = await TestDns.start({ records: records as never })
  const redis = await Redis.start()
  const clamd = await Clamd.start()
  const downstream = await Downstream.start({ default: CALLOUT_OK_ANSWER })
  let h: Haraka | undefined
  try {
    h = await Haraka.start({
      replay: false,
      dns: dns.address,
      logLevel: opts.logLevel ?? 'info',
      config: {
        'support-codes.ini': `[dns]\ntimeout=${DNS_TIMEOUT_S}\n\n[store]\nbackend=redis\ntimeout=${STORE_TIMEOUT_S}\n`,
        'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
        'support-codes-connect.ini': `[concurrency]\nmax=${CONC_MAX}\n`,
        // Rates on, with limits no one reaches, so every message costs the store its counting.
        'support-codes-mailfrom.ini': '[sender_rate]\nlimit=1000000\n',
        'support-codes-rcpt.ini': [
          '[dnsbl]', `recheck=${DNSBL_RECHECK_S}`, 'max_errors=5', '',
          '[new_ip]', 'limit=1000000', '',
          '[recipients]', 'domains=example.com', '',
          '[callout]', 'enabled=true', `routes=${CALLOUT_DOMAIN}=127.0.0.1:${downstream.port}`, `timeout=${CALLOUT_TIMEOUT_S}`, '',
          '[mailbox_rate]', 'limit=1000000', '',
        ].join('\n'),
        'support-codes-data.ini': `[virus]\nclamd=${clamd.socket}\ntimeout=${VIRUS_TIMEOUT_S}\non_error=defer\n`,
        'support-codes.recipients': `${RCPT_OK}\ncarol@example.com\n`,
        'support-codes.mx_blocklist': '.badprovider.net\n',
      },
    })
    return await drive(h, opts, { dns, redis, clamd, downstream, ptrNames, dnsblNames })
  } finally {
    await h?.stop()
    await downstream.stop()
    await clamd.stop()
    await redis.stop()
    await dns.stop()
  }
}

interface Servers {
  dns: TestDns
  redis: Redis
  clamd: Clamd
  downstream: Downstream
  ptrNames: string[]
  dnsblNames: string[]
}

async function drive(h: Haraka, opts: SoakOptions, sv: Servers): Promise<SoakResult> {
  const t0 = performance.now()
  const now = (): number => performance.now() - t0
  const N = opts.messages
  const kinds = planKinds(N, opts.seed ?? 1)
  const runId = `r${Date.now().toString(36)}`
  const sessions: Session[] = []
  let inFlight = 0
  let peakInFlight = 0
  const bursts: Session[][] = []
  const windows: Window[] = []
  let deadlineHit = false
  const deadline = setTimeout(() => { deadlineHit = true }, opts.deadlineMs)

  // Callout answers: each recipient's real answer, replaced by 'hang' while the server hangs.
  const calloutAnswers = new Map<string, string>()
  let hanging = false
  const register = (rcpt: string, answer: string): void => {
    calloutAnswers.set(rcpt, answer)
    sv.downstream.answer(rcpt, hanging ? 'hang' : answer)
  }

  // Steps and the gates that hold the load back until a step is over.
  // Each step's share of the sessions: the first DURING_SHARE of it starts
  // while the fault is on (spread over the fault's time), the rest once it
  // is over; the sessions of the recovery tail wait for every step.
  const deferred = (): { p: Promise<void>; resolve: () => void; at: number } => {
    let settled = false
    const d = { p: Promise.resolve(), resolve: (): void => undefined, at: 0 }
    d.p = new Promise<void>((r) => {
      d.resolve = () => {
        if (settled) return
        settled = true
        d.at = now()
        r()
      }
    })
    return d
  }
  const applied = STEPS.map(deferred)
  const restored = STEPS.map(deferred)
  let taken = 0
  async function gate(n: number): Promise<void> {
    if (n >= Math.floor(TAIL_AT * N)) return restored[STEPS.length - 1].p
    let i = -1
    for (let k = 0; k < STEPS.length; k++) if (n >= region(k, N)[0]) i = k
    if (i < 0) return
    const [from, mid] = region(i, N)
    if (n >= mid) return restored[i].p
    await applied[i].p
    if (STEPS[i].step === 'burst') return
    // Spread over the fault's time, so it meets traffic from start to end.
    const startAt = applied[i].at + ((n - from) / (mid - from)) * opts.faultMs * 0.9
    if (now() < startAt) await delay(startAt - now())
  }

  async function exchange(s: Session, cmd: string, fn: () => Promise<Reply>): Promise<Reply> {
    const e: Exchange = { cmd, sentAt: now() }
    s.steps.push(e)
    const r = await fn()
    e.replyAt = now()
    e.reply = r.text
    return r
  }

  /** Ends the session on a reply that is not the one wanted: its label, or unexpected. */
  function settle(s: Session, cmd: string, r: Reply): void {
    s.at = cmd
    s.outcome = label(r.text, s) ?? `unexpected: ${r.text}`
  }

  async function session(n: number): Promise<void> {
    const kind = kinds[n]
    const ip = kind === 'listed' ? listedIp(n) : cleanIp(n)
    const rcpt = recipientFor(kind, n)
    const id = `${runId}-${n}`
    const s: Session = { n, kind, ip, rcpt, id, start: now(), end: 0, steps: [], outcome: '' }
    sessions.push(s)
    peakInFlight = Math.max(peakInFlight, ++inFlight)
    if (kind === 'callout_refused') register(rcpt, CALLOUT_REFUSED_ANSWER)
    if (kind === 'callout_temp') register(rcpt, CALLOUT_LATER_ANSWER)
    let c: SmtpClient | undefined
    try {
      const greeting = await exchange(s, '(greeting)', async () => {
        c = await SmtpClient.connect({ port: h.port, proxyFrom: ip, timeoutMs: opts.clientTimeoutMs })
        return c.greeting
      })
      const client = c as SmtpClient
      if (greeting.code !== 220) {
        settle(s, '(greeting)', greeting)
        return
      }
      if (kind === 'drop_greeting') {
        client.close()
        s.outcome = 'dropped'
        return
      }
      const ehlo = await exchange(s, 'EHLO', () => client.ehlo('client.soak.example'))
      if (ehlo.code !== 250) return settle(s, 'EHLO', ehlo)
      if (kind === 'drop_ehlo') {
        client.reset()
        s.outcome = 'dropped'
        return
      }
      const from = kind === 'null_sender' ? '' : `s${n}@sender.example`
      const mail = await exchange(s, 'MAIL', () => client.send(`MAIL FROM:<${from}>`))
      if (mail.code !== 250) {
        settle(s, 'MAIL', mail)
      } else if (kind === 'drop_mail') {
        client.close()
        s.outcome = 'dropped'
        return
      } else {
        const rc = await exchange(s, 'RCPT', () => client.send(`RCPT TO:<${rcpt}>`))
        if (rc.code !== 250) {
          settle(s, 'RCPT', rc)
        } else {
          const data = await exchange(s, 'DATA', () => client.send('DATA'))
          if (data.code !== 354) {
            settle(s, 'DATA', data)
          } else if (kind === 'drop_data') {
            client.sendRaw(`X-Soak-Id: ${id}\r\nSubject: half\r\n\r\nhalf a mess`)
            await delay(5)
            client.reset()
            s.outcome = 'dropped'
            return
          } else {
            const body = messageFor(kind, from, rcpt, id)
            const r = await exchange(s, '(body)', () => {
              client.sendRaw(encodeBody(body))
              return client.readReply()
            })
            if (r.code === 250) {
              s.outcome = 'accepted'
              s.at = '(body)'
            } else {
              settle(s, '(body)', r)
            }
          }
        }
      }
      await exchange(s, 'QUIT', () => client.send('QUIT'))
      client.close()
    } catch (err) {
      s.error = (err as Error).message
      s.outcome = `failed: ${s.error}`
    } finally {
      c?.close()
      s.end = now()
      inFlight--
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      if (deadlineHit) return
      const n = taken++
      if (n >= N) return
      await gate(n)
      if (deadlineHit) return
      await session(n)
    }
  }

  // A burst: CONC_MAX + BURST_EXTRA connections at once from one address;
  // those let in are held until every one has its answer.
  async function burst(): Promise<void> {
    const group: Session[] = []
    const clients = await Promise.all(Array.from({ length: CONC_MAX + BURST_EXTRA }, async (_, i) => {
      const s: Session = { n: -1 - i, kind: 'drop_greeting', ip: BURST_IP, rcpt: RCPT_OK, id: '', start: now(), end: 0, steps: [], outcome: '', burst: true }
      group.push(s)
      try {
        let c: SmtpClient | undefined
        const g = await exchange(s, '(greeting)', async () => {
          c = await SmtpClient.connect({ port: h.port, proxyFrom: BURST_IP, timeoutMs: opts.clientTimeoutMs })
          return c.greeting
        })
        if (g.code === 220) s.outcome = 'let in'
        else settle(s, '(greeting)', g)
        return c
      } catch (err) {
        s.error = (err as Error).message
        s.outcome = `failed: ${s.error}`
        return undefined
      }
    }))
    await Promise.all(clients.map(async (c, i) => {
      const s = group[i]
      if (!c) return
      try {
        if (s.outcome === 'let in') await exchange(s, 'QUIT', () => c.send('QUIT'))
        else await Promise.race([c.closed, delay(opts.clientTimeoutMs).then(() => { throw new Error('not closed after G2') })])
      } catch (err) {
        s.error = (err as Error).message
        s.outcome = `failed: ${s.error}`
      } finally {
        c.close()
        s.end = now()
      }
    }))
    bursts.push(group)
  }

  async function fault(name: FaultName, onApplied: () => void): Promise<void> {
    const win: Window = { fault: name, applyAt: now(), start: 0, end: 0, restoredAt: 0 }
    windows.push(win)
    const names = name === 'dns_slow' ? [...sv.ptrNames, ...sv.dnsblNames] : name === 'dnsbl_servfail' ? sv.dnsblNames : sv.ptrNames
    switch (name) {
      case 'dns_slow': for (const x of names) sv.dns.delay(x, opts.dnsDelayMs); break
      case 'dnsbl_servfail':
      case 'ptr_servfail': for (const x of names) sv.dns.servfail(x, true); break
      case 'redis_down': await sv.redis.kill(); break
      case 'clamd_down': await sv.clamd.kill(); break
      case 'callout_hang':
        hanging = true
        sv.downstream.setDefault('hang')
        for (const r of calloutAnswers.keys()) sv.downstream.answer(r, 'hang')
        break
    }
    win.start = now()
    onApplied()
    await delay(opts.faultMs)
    win.end = now()
    switch (name) {
      case 'dns_slow': for (const x of names) sv.dns.delay(x, 0); break
      case 'dnsbl_servfail':
      case 'ptr_servfail': for (const x of names) sv.dns.servfail(x, false); break
      case 'redis_down': await sv.redis.restart(); break
      case 'clamd_down': await sv.clamd.restart(); break
      case 'callout_hang':
        hanging = false
        sv.downstream.setDefault(CALLOUT_OK_ANSWER)
        for (const [r, a] of calloutAnswers) sv.downstream.answer(r, a)
        break
    }
    win.restoredAt = now()
  }

  async function timeline(): Promise<void> {
    let lastEnd = -Infinity
    for (let i = 0; i < STEPS.length; i++) {
      const { at, step } = STEPS[i]
      // The run's deadline bounds this wait, not waitFor's.
      await waitFor(`the turn of step ${step}`, () => deadlineHit || (taken >= at * N && now() >= lastEnd + opts.gapMs), Infinity, 20)
      if (deadlineHit) break
      if (step === 'burst') {
        applied[i].resolve()
        await burst()
      } else {
        await fault(step, () => applied[i].resolve())
        lastEnd = now()
      }
      applied[i].resolve()
      restored[i].resolve()
    }
    for (const d of [...applied, ...restored]) d.resolve()
  }

  // DNS lists switched off and on, timed as their log lines arrive: while
  // a list is off, a listed client is let through, whatever switched it off.
  const zoneOff: Array<{ zone: string; from: number; to: number }> = []
  let partial = ''
  h.onOutput((text) => {
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const off = /DNS list (\S+) switched off/.exec(line)
      if (off) zoneOff.push({ zone: off[1], from: now(), to: Infinity })
      const on = /DNS list (\S+) passed its test; in use again/.exec(line)
      const open = on && zoneOff.find((z) => z.zone === on[1] && z.to === Infinity)
      if (open) open.to = now()
    }
  })

  // Haraka's memory over the run: resident size sampled each second.
  const pid = harakaPid(h.dir)
  const rss: number[] = []
  const sample = (): void => {
    try {
      if (pid) rss.push(Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]))
    } catch {
      // Haraka is gone; the crash check says so
    }
  }
  sample()
  const sampler = setInterval(sample, 1000)
  // The test's own event loop runs the clients, the DNS server and the
  // callout server: its delay says how late they can have answered.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  const faults = timeline()
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker()))
  await faults
  clearTimeout(deadline)
  const durationMs = now()
  clearInterval(sampler)
  sample()
  loopDelay.disable()

  // The disconnect hook runs just after the client sees the close. Keys
  // still there after the wait are reported by the run's checks, so the
  // wait's own timeout is not an error here.
  let concKeys: string[] = []
  await waitFor('the connection counts to leave Redis', async () => {
    concKeys = (await sv.redis.command('KEYS', 'sc:conc:*').catch((err: Error) => [`(Redis did not answer KEYS: ${err.message})`])) as string[]
    return !concKeys.length
  }, 5000, 100).catch(() => undefined)

  const queued = h.queued()
  const queuedIds = queued.map((m) => /^X-Soak-Id: (\S+)/m.exec(m)?.[1] ?? `(no id in ${m.slice(0, 60)})`)
  let peakRssKiB: number | undefined
  let harakaCpuS: number | undefined
  let rssNote: string | undefined
  if (pid && h.running) {
    try {
      const st = procStats(pid)
      peakRssKiB = st.rssKiB
      harakaCpuS = st.cpuS
    } catch (err) {
      rssNote = `could not read /proc/${pid}: ${(err as Error).message}`
    }
  } else {
    rssNote = 'Haraka process not found in /proc'
  }
  return {
    opts, sessions, bursts, windows, durationMs, queuedIds, queuedCount: queued.length, running: h.running,
    log: h.log, concKeys, peakRssKiB, harakaCpuS, rssNote, deadlineHit, rssSamplesKiB: rss, peakInFlight,
    loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    zoneOff, timeouts: loadTimeouts(h.log),
    dnsQueries: sv.dns.queries.length, downstreamConnections: sv.downstream.connections,
  }
}

// --- judging the run ---------------------------------------------------------------

/**
 * What ran out of time, per session, as Haraka's log says: a PTR lookup
 * (G1F), a DNS list lookup (not refused), a callout (G6), a clamd scan
 * (451). Each is the documented outcome of its timeout, and each can happen
 * with no fault on when the machine is busy; the judging accepts them (and
 * the summary counts them) unless SOAK_STRICT=1.
 */
export interface LoadTimeouts {
  /** Client addresses. */
  ptr: Set<string>
  dnsbl: Set<string>
  clamd: Set<string>
  /** Recipients. */
  callout: Set<string>
}

export function loadTimeouts(log: string): LoadTimeouts {
  const ipOf = new Map<string, string>()
  for (const m of log.matchAll(/\[([0-9A-F-]{36})(?:\.\d+)?\] \[core\] disconnect ip=(\S+)/g)) ipOf.set(m[1], m[2])
  const byUuid = (re: RegExp): Set<string> => new Set([...log.matchAll(re)].map((m) => ipOf.get(m[1]) ?? m[1]))
  return {
    ptr: new Set([...log.matchAll(/ptr: sent "450 4\.7\.1 Client host (\S+) has no PTR record \(G1F\)" \(PTR lookup failed \(ETIMEOUT\)/g)].map((m) => m[1])),
    dnsbl: byUuid(/\[([0-9A-F-]{36})(?:\.\d+)?\] \[support-codes\/rcpt\] \S+: lookup failed \(ETIMEOUT\); not refused/g),
    clamd: byUuid(/\[([0-9A-F-]{36})(?:\.\d+)?\] \[support-codes\/data\] clamd \S+: no answer within/g),
    callout: new Set([...log.matchAll(/callout: sent "450 4\.4\.1 (\S+): [^"]*\(G6\)" \(callout inconclusive: (?:[^)]*: no [A-Za-z ]+ in time|too many callouts)/g)].map((m) => m[1])),
  }
}

/** What may explain an outcome besides the injected faults. */
export interface Explain {
  zoneOff: Array<{ from: number; to: number }>
  timeouts?: LoadTimeouts
}

export function explainFor(r: SoakResult, strict = process.env.SOAK_STRICT === '1'): Explain {
  return { zoneOff: r.zoneOff, timeouts: strict ? undefined : r.timeouts }
}

/** The outcome is one a timeout with no fault on gave this session. */
function byLoad(s: Session, t: LoadTimeouts | undefined): boolean {
  if (!t) return false
  switch (s.outcome) {
    case 'G1F': return t.ptr.has(s.ip)
    case 'G6': return t.callout.has(s.rcpt)
    case 'SCANNER_DOWN': return t.clamd.has(s.ip)
    case 'accepted': return s.kind === 'listed' && t.dnsbl.has(s.ip)
    default: return false
  }
}

function overlaps(s: Session, from: number, to: number): boolean {
  return s.start <= to && s.end >= from
}

/** Outcomes a session may have, given the faults its lifetime overlapped and what else explains it. */
export function allowedOutcomes(s: Session, windows: Window[], explain: Explain = { zoneOff: [] }): Set<string> {
  const ok = new Set([NORMAL[s.kind]])
  for (const w of windows) {
    if (!overlaps(s, w.applyAt, w.restoredAt + GRACE_MS[w.fault])) continue
    switch (w.fault) {
      case 'dns_slow':
        if (SENDS_MAIL.has(s.kind)) ok.add('G1F')
        if (s.kind === 'listed') ok.add('accepted')
        break
      case 'dnsbl_servfail':
        if (s.kind === 'listed') ok.add('accepted')
        break
      case 'ptr_servfail':
        if (SENDS_MAIL.has(s.kind)) ok.add('G1F')
        break
      case 'clamd_down':
        if (SCANNED.has(s.kind)) ok.add('SCANNER_DOWN')
        break
      case 'callout_hang':
        if (s.kind === 'callout_ok' || s.kind === 'callout_refused') ok.add('G6')
        break
      case 'redis_down':
        // The store fails open: nothing a client sees changes.
        break
    }
  }
  // A DNS list the bundle had switched off refuses no one.
  if (s.kind === 'listed' && explain.zoneOff.some((z) => overlaps(s, z.from - 300, z.to + 500))) ok.add('accepted')
  if (byLoad(s, explain.timeouts)) ok.add(s.outcome)
  // A listed client let through meets the virus scan as a clean one.
  if (ok.has('accepted') && s.kind === 'listed') {
    for (const w of windows) if (w.fault === 'clamd_down' && overlaps(s, w.applyAt, w.restoredAt + GRACE_MS.clamd_down)) ok.add('SCANNER_DOWN')
  }
  return ok
}

const step = (s: Session, cmd: string): Exchange | undefined => s.steps.find((e) => e.cmd === cmd)

/** Sessions that lived wholly inside a fault, and what each of them must have got. */
export function definiteInWindow(w: Window, sessions: Session[], timeouts?: LoadTimeouts): Array<{ s: Session; want: string }> {
  const out: Array<{ s: Session; want: string }> = []
  for (const s of sessions) {
    const greet = step(s, '(greeting)')
    switch (w.fault) {
      case 'ptr_servfail': {
        // Looked up at connect, answered before the greeting.
        const mail = step(s, 'MAIL')
        if (SENDS_MAIL.has(s.kind) && mail?.reply !== undefined && greet?.replyAt !== undefined && s.start >= w.start && greet.replyAt <= w.end) out.push({ s, want: 'G1F' })
        break
      }
      case 'dnsbl_servfail': {
        const rcpt = step(s, 'RCPT')
        if (s.kind === 'listed' && rcpt?.replyAt !== undefined && s.start >= w.start && rcpt.replyAt <= w.end && s.at !== 'MAIL') {
          out.push({ s, want: 'not G31' })
        }
        break
      }
      case 'clamd_down': {
        const body = step(s, '(body)')
        if ((s.kind === 'clean' || s.kind === 'callout_ok' || s.kind === 'virus') && body?.replyAt !== undefined && body.sentAt >= w.start && body.replyAt <= w.end) {
          out.push({ s, want: 'SCANNER_DOWN' })
        }
        break
      }
      case 'callout_hang': {
        const rcpt = step(s, 'RCPT')
        if ((s.kind === 'callout_ok' || s.kind === 'callout_refused') && rcpt?.replyAt !== undefined && rcpt.sentAt >= w.start && rcpt.replyAt <= w.end) {
          out.push({ s, want: 'G6' })
        }
        break
      }
      case 'redis_down':
        // Mail flows while Redis is down: what a clean client gets does not
        // change (a lookup or scan that ran out of time says nothing about Redis).
        if (s.kind === 'clean' && s.start >= w.start && s.end <= w.end && !byLoad(s, timeouts)) out.push({ s, want: 'accepted' })
        break
      case 'dns_slow':
        // Slow answers never hold a reply past [dns] timeout, and a lookup
        // that runs out of time is a DNS failure (G1F deferred, a list not
        // applied), never a refusal of its own.
        if ((s.kind === 'clean' || s.kind === 'listed') && s.start >= w.start && s.end <= w.end) out.push({ s, want: 'in time' })
        break
    }
  }
  return out
}

/** Longest a greeting may take: the PTR lookup ([dns] timeout) and the concurrency count ([store] timeout), with room for a busy machine. */
const GREETING_MAX_MS = (DNS_TIMEOUT_S + STORE_TIMEOUT_S) * 1000 + 1500

function meets(s: Session, want: string): boolean {
  const outcome = s.outcome
  if (want === 'not G31') return outcome !== 'G31' && !outcome.startsWith('failed') && !outcome.startsWith('unexpected')
  if (want === 'in time') {
    const g = step(s, '(greeting)')
    const inTime = g?.replyAt !== undefined && g.replyAt - g.sentAt <= GREETING_MAX_MS
    const explained = outcome === NORMAL[s.kind] || outcome === 'G1F' || (s.kind === 'listed' && outcome === 'accepted')
    return inTime && explained
  }
  return outcome === want
}

/** For the summary: sessions in a slow-DNS window that lost a lookup to the timeout (G1F, or a listed client let through). */
function lostToSlowDns(w: Window, sessions: Session[]): number {
  return definiteInWindow(w, sessions).filter((x) => x.s.outcome !== NORMAL[x.s.kind]).length
}

/** Sessions away from every injected fault whose outcome a timeout under load explains, by what ran out of time. */
function loadLosses(r: SoakResult): Record<string, number> {
  const quiet = r.sessions.filter((s) => !r.windows.some((w) => overlaps(s, w.applyAt, w.restoredAt + GRACE_MS[w.fault])))
  return countBy(quiet.filter((s) => s.outcome !== NORMAL[s.kind] && byLoad(s, r.timeouts)), (s) =>
    ({ G1F: 'PTR lookup (G1F)', G6: 'callout (G6)', SCANNER_DOWN: 'clamd scan (451)', accepted: 'DNS list lookup (listed client let through)' })[s.outcome] ?? s.outcome)
}

/** Lines in Haraka's log that mean it crashed or came close. */
export function crashLines(log: string): string[] {
  return log.split('\n').filter((l) => /Caught exception|\[CRIT\]|\bCRIT\b|uncaught/i.test(l))
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1
  return out
}

function pct(values: number[], p: number): number {
  if (!values.length) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const mib = (kib: number): string => (kib / 1024).toFixed(0)

export function summary(r: SoakResult): string {
  const sent = r.sessions.length
  const accepted = r.sessions.filter((s) => s.outcome === 'accepted').length
  const dataSent = r.sessions.filter((s) => step(s, '(body)')).length
  const byOutcome = countBy(r.sessions, (s) => (s.outcome.startsWith('failed') ? 'failed' : s.outcome.startsWith('unexpected') ? 'unexpected' : s.outcome))
  const burst = r.bursts.flat()
  const lat: Record<string, number[]> = {}
  for (const s of [...r.sessions, ...burst]) {
    for (const e of s.steps) if (e.replyAt !== undefined) (lat[e.cmd] ??= []).push(e.replyAt - e.sentAt)
  }
  const lines = [
    `soak ${r.opts.name}: ${r.opts.concurrency} concurrent connections (${r.peakInFlight} open at the peak), ${sent} sessions of ${r.opts.messages}, seed ${r.opts.seed ?? 1}`,
    `  duration ${(r.durationMs / 1000).toFixed(1)} s, ${(sent / (r.durationMs / 1000)).toFixed(0)} sessions/s${r.deadlineHit ? ' (DEADLINE HIT)' : ''}`,
    `  messages sent (DATA body) ${dataSent}, accepted (250 to DATA) ${accepted}, in the queue ${r.queuedCount}`,
    `  outcomes: ${Object.entries(byOutcome).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  G2 bursts (${CONC_MAX + BURST_EXTRA} at once from one address, max=${CONC_MAX}): ${r.bursts.map((g) => Object.entries(countBy(g, (s) => s.outcome)).map(([k, v]) => `${k} ${v}`).join(' / ')).join('; ')}`,
    `  faults: ${r.windows.map((w) => `${w.fault} ${(w.start / 1000).toFixed(1)}-${(w.restoredAt / 1000).toFixed(1)} s`).join(', ')}`,
    `  test process event-loop delay (clients, DNS server, callout server): p99 ${r.loopDelayMs.p99.toFixed(0)} ms, max ${r.loopDelayMs.max.toFixed(0)} ms`,
    `  reply latency ms (p50/p99/max): ${Object.entries(lat).map(([k, v]) => `${k} ${pct(v, 50).toFixed(0)}/${pct(v, 99).toFixed(0)}/${Math.max(...v).toFixed(0)}`).join(', ')}`,
    `  Haraka log lines by level: ${Object.entries(countBy(r.log.split('\n').filter((l) => /^\[[A-Z]+\]/.test(l)), (l) => l.slice(1, l.indexOf(']')))).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  Haraka peak RSS (VmHWM) ${r.peakRssKiB !== undefined ? `${(r.peakRssKiB / 1024).toFixed(0)} MiB` : `unknown (${r.rssNote})`}` +
      `${r.rssSamplesKiB.length ? ` (RSS at start ${mib(r.rssSamplesKiB[0])}, at the end ${mib(r.rssSamplesKiB[r.rssSamplesKiB.length - 1])} MiB)` : ''}, CPU ${r.harakaCpuS?.toFixed(1) ?? '?'} s; ${r.dnsQueries} DNS queries, ${r.downstreamConnections} callouts, log ${(r.log.length / 1048576).toFixed(1)} MB`,
  ]
  const losses = Object.entries(loadLosses(r))
  lines.push(`  away from the faults, ran out of time under load: ${losses.length ? losses.map(([k, v]) => `${k} ${v}`).join(', ') : 'nothing'}; DNS lists switched off ${r.zoneOff.length} times`)
  for (const w of r.windows) {
    const d = definiteInWindow(w, r.sessions, r.timeouts)
    lines.push(`  ${w.fault}: ${d.length} sessions wholly inside, ${d.filter((x) => meets(x.s, x.want)).length} as documented${w.fault === 'dns_slow' ? `, ${lostToSlowDns(w, r.sessions)} of them lost a lookup to the timeout although DNS answered within it` : ''}`)
  }
  return lines.join('\n') + '\n'
}

// --- the tests -------------------------------------------------------------------------

const show = (s: Session): string =>
  `#${s.n} ${s.kind} ${s.ip} -> ${s.outcome}${s.at ? ` at ${s.at}` : ''} [${(s.start / 1000).toFixed(2)}-${(s.end / 1000).toFixed(2)} s] ` +
  s.steps.map((e) => `${e.cmd}@${(e.sentAt / 1000).toFixed(2)}:${e.reply === undefined ? '(none)' : JSON.stringify(e.reply.split('\n')[0])}`).join(' ')

function firstFew<T>(items: T[], fmt: (t: T) => string, n = 10): string {
  return items.slice(0, n).map(fmt).join('\n') + (items.length > n ? `\n... and ${items.length - n} more` : '')
}

/** Registers the soak run and its assertions with node:test. */
export function soakSuite(opts: SoakOptions): void {
  describe(`soak (${opts.name})`, () => {
    let r: SoakResult
    before(async () => {
      r = await runSoak(opts)
      process.stdout.write(summary(r))
      // SOAK_LOG=FILE keeps Haraka's whole log for a look afterwards.
      if (process.env.SOAK_LOG) fs.writeFileSync(process.env.SOAK_LOG, r.log)
    }, { timeout: opts.deadlineMs + 120_000 })

    // When a check fails, Haraka's log is kept for the post-mortem.
    let failed = false
    const check = (name: string, fn: () => void): void => {
      test(name, () => {
        try {
          fn()
        } catch (err) {
          failed = true
          throw err
        }
      })
    }
    after(() => {
      if (!failed || !r || process.env.SOAK_LOG) return
      const file = path.join(os.tmpdir(), `soak-${opts.name}-${Date.now()}.log`)
      fs.writeFileSync(file, r.log)
      process.stdout.write(`soak: a check failed; Haraka's log is in ${file}\n`)
    })

    check('the run finished by itself within its deadline', () => {
      assert.equal(r.deadlineHit, false, `not finished within ${opts.deadlineMs} ms`)
      assert.equal(r.sessions.length, opts.messages)
    })

    check('Haraka never crashed', () => {
      assert.equal(r.running, true, 'Haraka is not running')
      assert.deepEqual(crashLines(r.log), [])
    })

    check('every connection got an answer to everything it sent', () => {
      const all = [...r.sessions, ...r.bursts.flat()]
      const unanswered = all.filter((s) => s.error !== undefined || s.steps.some((e) => e.reply === undefined) || !s.steps.length)
      assert.equal(unanswered.length, 0, `${unanswered.length} sessions without an answer:\n${firstFew(unanswered, show)}`)
      const noGreeting = all.filter((s) => !step(s, '(greeting)')?.reply)
      assert.equal(noGreeting.length, 0)
    })

    check('every accepted message reached the queue, once', () => {
      const accepted = r.sessions.filter((s) => s.outcome === 'accepted')
      assert.equal(r.queuedCount, accepted.length, '250 replies to DATA vs messages in the queue')
      const want = accepted.map((s) => s.id).sort()
      const got = [...r.queuedIds].sort()
      assert.deepEqual(got, want)
    })

    check('each refusal was sent byte for byte, at the command the docs name', () => {
      const seen = countBy(r.sessions, (s) => s.outcome)
      for (const code of ['G34', 'G1F', 'G31', 'G8', 'G7', 'G6', 'G1B', 'VIRUS', 'SCANNER_DOWN', 'accepted', 'dropped']) {
        assert.ok((seen[code] ?? 0) > 0, `no session got ${code}: ${JSON.stringify(seen)}`)
      }
      const unexpected = r.sessions.filter((s) => s.outcome.startsWith('unexpected'))
      assert.equal(unexpected.length, 0, `replies that are no documented line:\n${firstFew(unexpected, show)}`)
      const misplaced = r.sessions.filter((s) => LABEL_AT[s.outcome] && s.at !== LABEL_AT[s.outcome])
      assert.equal(misplaced.length, 0, `refusals at the wrong command:\n${firstFew(misplaced, show)}`)
      const g2 = r.bursts.flat().filter((s) => s.outcome === 'G2')
      assert.ok(g2.length > 0, 'no burst connection got G2')
      const badBurst = r.bursts.flat().filter((s) => s.outcome !== 'G2' && s.outcome !== 'let in')
      assert.equal(badBurst.length, 0, firstFew(badBurst, show))
      for (const group of r.bursts) {
        assert.ok(group.filter((s) => s.outcome === 'let in').length <= CONC_MAX, `a burst let in more than ${CONC_MAX}`)
      }
    })

    check('away from the faults every session got its kind\'s answer; near them, only what the fault explains', () => {
      const explain = explainFor(r)
      const wrong = r.sessions.filter((s) => !s.outcome.startsWith('failed') && !allowedOutcomes(s, r.windows, explain).has(s.outcome))
      assert.equal(wrong.length, 0, `sessions with an outcome no fault explains:\n${firstFew(wrong, (s) => `${show(s)} allowed ${[...allowedOutcomes(s, r.windows, explain)].join('|')}`)}`)
      // The recovery tail, after every fault: all as normal.
      const lastFault = Math.max(...r.windows.map((w) => w.restoredAt + GRACE_MS[w.fault]))
      const tail = r.sessions.filter((s) => s.start > lastFault)
      assert.ok(tail.length > 0, 'no sessions after the last fault')
      const tailWrong = tail.filter((s) => !allowedOutcomes(s, [], explain).has(s.outcome))
      assert.equal(tailWrong.length, 0, `after the faults:\n${firstFew(tailWrong, show)}`)
    })

    check('each fault had the documented outcome', () => {
      const problems: string[] = []
      for (const w of r.windows) {
        const d = definiteInWindow(w, r.sessions, explainFor(r).timeouts)
        if (!d.length) problems.push(`${w.fault}: no session lived wholly inside it`)
        const bad = d.filter((x) => !meets(x.s, x.want))
        if (bad.length) problems.push(`${w.fault}: ${bad.length} of ${d.length} not as documented:\n${firstFew(bad, (x) => `want ${x.want}: ${show(x.s)}`, 5)}`)
      }
      const logWants: Array<[string, RegExp]> = [
        ['a DNS list switched off by SERVFAILs', /DNS list (bl\.score\.senderscore\.com|xbl\.spamhaus\.org) switched off: 5 errors in a row/],
        ['a DNS list back in use', /DNS list (bl\.score\.senderscore\.com|xbl\.spamhaus\.org) passed its test; in use again/],
        ['G1F for a failed PTR lookup', /ptr: sent "450 4\.7\.1 Client host [\d.]+ has no PTR record \(G1F\)" \(PTR lookup failed \(ESERVFAIL\); dns_error=defer\)/],
        ['Redis down, said once', /checks that need the store let mail through until it is back/],
        ['Redis back', /is back; checks that count use it again/],
        ['clamd unreachable', /clamd \S+: (connect )?(ECONNREFUSED|ENOENT)/],
        ['large messages scanned on the scan thread', /content scan thread started/],
        ['a virus found', /virus: sent "550 5\.7\.1 Virus found \(G3,G4,G5\)" \(clamd: Eicar-Test-Signature/],
        ['callout timed out', /callout: sent "450 4\.4\.1 \S+: The recipient's server was temporarily unavailable/],
      ]
      for (const [what, re] of logWants) if (!re.test(r.log)) problems.push(`log: nothing for ${what} (${re})`)
      // The docs: the log says so once, and again when Redis is back.
      const outages = r.windows.filter((w) => w.fault === 'redis_down').length
      const said = (re: RegExp): number => (r.log.match(re) ?? []).length
      if (said(/checks that need the store let mail through until it is back/g) !== outages) problems.push(`log: Redis down said ${said(/checks that need the store let mail through until it is back/g)} times for ${outages} outages`)
      if (said(/is back; checks that count use it again/g) !== outages) problems.push(`log: Redis back said ${said(/is back; checks that count use it again/g)} times for ${outages} outages`)
      assert.deepEqual(problems, [])
    })

    check('the G2 counters are back at zero', () => {
      assert.deepEqual(r.concKeys, [], 'sc:conc:* keys left in Redis')
    })
  })
}
