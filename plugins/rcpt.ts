// support-codes/rcpt: checks at RCPT TO, in order: G31/G32 (DNS lists), G28
// (new or untrusted IP), G14 (sender's MX), G8/G9 (directory), G6/G7 (live
// callout), GE (sender blocked by the recipient), G30 (mailbox rate).
// Lookups that do not depend on the recipient start early (DNS lists at
// connect, the sender's MX at MAIL FROM) so RCPT rarely waits.
import { Address, Connection, HarakaPlugin } from './lib/haraka-types'
import { decide, hook, Outcome, skipReason } from './lib/hook'
import { PluginConfig } from './lib/plugin-config'
import { isMonitor } from './lib/settings'
import { Verdict } from './lib/render'
import { answerMeaning, dnsblCheck, isUnlistable, queryName, ZoneConfig, zoneConfigs, ZoneResult } from './lib/dnsbl'
import { ZoneHealth } from './lib/dnsbl-health'
import { newIpCheck } from './lib/checks/new-ip'
import { mailboxRate } from './lib/checks/mailbox-rate'
import { countOne, recentCount } from './lib/rate-window'
import { Directory, recipientCheck } from './lib/recipients'
import { SenderBlocks, senderBlockCheck } from './lib/sender-blocks'
import { MxBlocklist } from './lib/mx-blocklist'
import { gatherSenderMx, senderMxCheck, SenderMxFacts } from './lib/checks/sender-mx'
import { Callout, calloutTargets, CalloutTarget, parseRoutes } from './lib/callout'
import { cachedCallout, calloutCheck } from './lib/checks/callout'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-rcpt.ini'
const NOTE = 'support_codes_rcpt'
const FIRST_SEEN_EXTRA = 30 * 86400

let config: PluginConfig<typeof FILE>
let health: ZoneHealth

/** What the plugin builds from its settings and list files, rebuilt on reload. */
interface Derived {
  version: number
  zones: ZoneConfig[]
  directory: Directory
  blocks: SenderBlocks
  mxList: MxBlocklist
  routes: Map<string, CalloutTarget>
  calloutDomains: Set<string>
  callout: Callout
  calloutSig: string
  zonesSig: string
}
let derived: Derived | undefined

function listFile<T>(name: string, parse: (lines: string[]) => T & { problems: Array<{ line: number; text: string; message: string }> }): T {
  const parsed = parse(config.lines(name))
  for (const p of parsed.problems) config.report(`${name} line ${p.line}: ${p.message} ("${p.text}"); line skipped`)
  return parsed
}

function current(): Derived {
  if (derived?.version === config.version) return derived
  const { own } = config
  const { zones, problems } = zoneConfigs(own.dnsbl.zones, { ...config.extra, ...(own as unknown as Record<string, Record<string, unknown>>) })
  for (const p of problems) config.report(`${FILE} ${p}`)
  const { routes, invalid } = parseRoutes(own.callout.routes)
  for (const r of invalid) config.report(`${FILE} [callout] routes: "${r}" is not domain=host:port; ignored`)
  const old = derived
  const calloutSig = JSON.stringify([config.hostname(), own.callout.timeout, own.callout.max_per_server])
  const zonesSig = JSON.stringify([zones.map((z) => z.zone), own.dnsbl.recheck])
  derived = {
    version: config.version,
    zones,
    directory: listFile('support-codes.recipients', (l) => Directory.parse(l)).directory,
    blocks: listFile('support-codes.sender_blocks', (l) => SenderBlocks.parse(l)).blocks,
    mxList: listFile('support-codes.mx_blocklist', (l) => MxBlocklist.parse(l)).list,
    routes,
    calloutDomains: new Set([...own.callout.domains.map((d) => d.toLowerCase()), ...routes.keys()]),
    // One Callout (and its per-server limits) for as long as its settings hold.
    callout: old && old.calloutSig === calloutSig
      ? old.callout
      : new Callout({ helo: config.hostname(), timeoutMs: own.callout.timeout * 1000, maxPerServer: own.callout.max_per_server }),
    calloutSig,
    zonesSig,
  }
  if (old?.zonesSig !== zonesSig) health.watch(zones, own.dnsbl.recheck)
  return derived
}


export function register(this: HarakaPlugin): void {
  // Sections other than the schema's are DNS list zones, when [dnsbl] zones names them.
  config = new PluginConfig(this, FILE, (own) => own.dnsbl.zones)
  health = new ZoneHealth(() => config.dnsUncached(), { loginfo: (m) => this.loginfo(m), logwarn: (m) => this.logwarn(m) })
  current()
  this.register_hook('data_post', 'held_recipients', 50)
}

export function shutdown(): void {
  health?.stop()
}

interface ConnState {
  skip?: string
  ip: string
  dnsbl?: Promise<ZoneResult[]>
  firstSeen?: Promise<number | undefined>
}

interface TxnState {
  senderMx?: Promise<SenderMxFacts | undefined>
  held: string[]
}

const ipKey = (ip: string): string => ip.toLowerCase()

function connState(connection: Connection): ConnState | undefined {
  return connection.notes[NOTE] as ConnState | undefined
}

function txnState(connection: Connection): TxnState | undefined {
  const txn = connection.transaction
  if (!txn) return undefined
  let st = txn.notes[NOTE] as TxnState | undefined
  if (!st) {
    st = { held: [] }
    txn.notes[NOTE] = st
  }
  return st
}

// DNS list lookups and the first-seen record start as soon as the client's
// address is known, in parallel.
export const hook_connect_init = hook('connect_init', function (this: HarakaPlugin, connection: Connection) {
  const ip = connection.remote.ip
  const st: ConnState = { ip, skip: skipReason(connection, config.allow) }
  connection.notes[NOTE] = st
  if (st.skip) return undefined
  const { own } = config
  const d = current()
  const dns = config.dns()
  const zones = isUnlistable(ip) ? [] : d.zones.filter((z) => health.enabled(z.zone))
  if (zones.length) {
    st.dnsbl = Promise.all(zones.map(async (zone): Promise<ZoneResult | undefined> => {
      const name = queryName(ip, zone)
      if (!name) return undefined
      const meaning = answerMeaning(await dns.a(name), zone)
      health.record(zone, meaning, own.dnsbl.max_errors)
      if (meaning.kind === 'other') connection.loginfo(this, `${zone.zone} answered ${meaning.answers.join(',')}, not in its listed answers; not refused`)
      if (meaning.kind === 'error') connection.loginfo(this, `${zone.zone}: ${meaning.why}; not refused`)
      return { zone, meaning }
    })).then((r) => r.filter((x): x is ZoneResult => x !== undefined))
  }
  if (own.new_ip.limit > 0) {
    const now = Date.now()
    st.firstSeen = config.store()
      .setIfAbsent(`sc:ip:first:${ipKey(ip)}`, String(now), own.new_ip.probation + FIRST_SEEN_EXTRA)
      .then(Number, () => undefined)
  }
  return undefined
})

// The sender's MX hosts are looked up once per transaction, from MAIL FROM on.
export const hook_mail = hook('mail', function (this: HarakaPlugin, connection: Connection, params: Address[]) {
  const st = txnState(connection)
  const from = params[0]
  if (!st || !from || from.isNull() || !from.host || connState(connection)?.skip) return undefined
  const { own } = config
  const d = current()
  if (own.sender_mx.enabled && d.mxList.size) {
    st.senderMx = gatherSenderMx(from.host.toLowerCase(), from.address, config.dns(), d.mxList.hasAddresses).catch(() => undefined)
  }
  return undefined
})

async function recent(prefix: string, period: number): Promise<number | undefined> {
  return recentCount(config.store(), prefix, period).catch(() => undefined)
}

export const hook_rcpt = hook('rcpt', async function (this: HarakaPlugin, connection: Connection, params: Address[]) {
  const txn = connection.transaction
  const cst = connState(connection)
  const tst = txnState(connection)
  const rcpt = params[0]
  if (!txn || !cst || !tst || !rcpt) return undefined
  const skip = cst.skip ?? skipReason(connection, config.allow)
  if (skip) {
    txn.results.add(this, { skip, emit: true })
    return undefined
  }
  const { own, shared } = config
  const d = current()
  const address = rcpt.address
  const sender = txn.mail_from && !txn.mail_from.isNull() ? txn.mail_from.address : ''
  const fire = (check: keyof typeof own, verdict: Verdict): Outcome => decide({
    plugin: this, connection, results: txn.results, phase: 'rcpt', hook: 'rcpt', check, verdict,
    monitor: isMonitor(own[check] as { monitor?: boolean }, shared.main.monitor), tagAll: shared.main.tag_all,
  })
  const pass = (check: string): void => { txn.results.add(this, { pass: check }) }

  // G31, G32
  if (cst.dnsbl) {
    const verdict = dnsblCheck({ ip: cst.ip, results: await cst.dnsbl })
    if (verdict) {
      const out = fire('dnsbl', verdict)
      if (out) return out
    } else pass('dnsbl')
  }

  // G28
  if (own.new_ip.limit > 0) {
    const key = ipKey(cst.ip)
    const [firstSeen, accepted, rcptOk, rcptRefused] = await Promise.all([
      cst.firstSeen,
      recent(`sc:rate:ip:${key}`, own.new_ip.period),
      recent(`sc:rate:ip-rcpt-ok:${key}`, own.new_ip.period),
      recent(`sc:rate:ip-rcpt-refused:${key}`, own.new_ip.period),
    ])
    const age = firstSeen === undefined ? undefined : (Date.now() - firstSeen) / 1000
    const verdict = newIpCheck({ age, accepted, rcptOk, rcptRefused }, own.new_ip)
    if (verdict) {
      const out = fire('new_ip', verdict)
      if (out) return out
    } else pass('new_ip')
  }

  // G14
  if (tst.senderMx) {
    const facts = await tst.senderMx
    const verdict = facts && senderMxCheck(facts, d.mxList)
    if (verdict) {
      const out = fire('sender_mx', verdict)
      if (out) return out
    } else pass('sender_mx')
  }

  // G8/G9 from the directory; with at=data the refusal waits for DATA.
  const domain = (rcpt.host ?? '').toLowerCase()
  const hold = (verdict: Verdict): Outcome => {
    if (own.recipients.at !== 'data') return fire('recipients', verdict)
    tst.held.push(address)
    txn.results.add(this, { msg: `recipients: ${address} unknown; refusal held until DATA` })
    return undefined
  }
  const unknown = recipientCheck({ rcpt: address, domain }, own.recipients, d.directory)
  if (unknown) {
    const out = hold(unknown)
    if (out) return out
    return undefined
  }
  if (own.recipients.domains.length) pass('recipients')

  // G6, G7 (and G8/G9 when the recipient's server says the user is unknown)
  if (own.callout.enabled && d.calloutDomains.has(domain)) {
    const { answer, cached } = await cachedCallout(config.store(), address, own.callout.cache_ttl, own.callout.negative_ttl, async () => {
      const { targets, why } = await calloutTargets(domain, d.routes, config.dns())
      if (!targets.length) return { result: 'tempfail', reply: why ?? 'no server to call' }
      return d.callout.verifyAny(targets, address)
    })
    txn.results.add(this, { msg: `callout ${address}: ${answer.result}${cached ? ' (cached)' : ''}: ${answer.reply}` })
    const verdict = calloutCheck({ rcpt: address, answer })
    if (verdict?.id === 'G8/G9') {
      const out = own.recipients.at === 'data' ? hold(verdict) : fire('callout', verdict)
      if (out) return out
      if (own.recipients.at === 'data') return undefined
    } else if (verdict) {
      const out = fire('callout', verdict)
      if (out) return out
    } else pass('callout')
  }

  // GE
  if (own.sender_blocks.enabled && sender) {
    const verdict = senderBlockCheck({ rcpt: address, sender }, d.blocks)
    if (verdict) {
      const out = fire('sender_blocks', verdict)
      if (out) return out
    } else pass('sender_blocks')
  }

  // G30
  if (own.mailbox_rate.limit > 0) {
    const verdict = mailboxRate({ recent: await recent(`sc:rate:rcpt:${address.toLowerCase()}`, own.mailbox_rate.period) }, own.mailbox_rate)
    if (verdict) {
      const out = fire('mailbox_rate', verdict)
      if (out) return out
    } else pass('mailbox_rate')
  }
  return undefined
})

// Recipients accepted and refused (by any plugin) per client IP, for the
// "untrusted" part of G28.
export const hook_rcpt_ok = hook('rcpt_ok', async function (this: HarakaPlugin, connection: Connection) {
  const cst = connState(connection)
  if (!cst || cst.skip || config.own.new_ip.limit <= 0) return undefined
  await countOne(config.store(), `sc:rate:ip-rcpt-ok:${ipKey(cst.ip)}`, config.own.new_ip.period).catch(() => undefined)
  return undefined
})

export const hook_deny = hook('deny', async function (this: HarakaPlugin, connection: Connection, params: unknown[]) {
  const cst = connState(connection)
  if (params?.[5] !== 'rcpt' || !cst || cst.skip || config.own.new_ip.limit <= 0) return undefined
  await countOne(config.store(), `sc:rate:ip-rcpt-refused:${ipKey(cst.ip)}`, config.own.new_ip.period).catch(() => undefined)
  return undefined
})

// Accepted messages are counted when the queue takes them: per client IP
// (G28) and per recipient mailbox (G30).
export const hook_queue_ok = hook('queue_ok', async function (this: HarakaPlugin, connection: Connection) {
  const cst = connState(connection)
  const txn = connection.transaction
  if (!cst || !txn || cst.skip || skipReason(connection, config.allow)) return undefined
  const { own } = config
  const store = config.store()
  const work: Array<Promise<unknown>> = []
  if (own.new_ip.limit > 0) work.push(countOne(store, `sc:rate:ip:${ipKey(cst.ip)}`, own.new_ip.period))
  if (own.mailbox_rate.limit > 0) {
    for (const r of txn.rcpt_to) work.push(countOne(store, `sc:rate:rcpt:${r.address.toLowerCase()}`, own.mailbox_rate.period))
  }
  await Promise.all(work.map((p) => p.catch(() => undefined)))
  return undefined
})

// G8/G9 held until DATA ([recipients] at=data): the whole message is refused,
// naming the first unknown recipient, so the directory cannot be harvested
// one RCPT at a time. Registered to run after the data plugin's checks, last
// in the DATA phase as the checks are listed.
export const held_recipients = hook('data_post', function (this: HarakaPlugin, connection: Connection) {
  const txn = connection.transaction
  const tst = txn?.notes[NOTE] as TxnState | undefined
  if (!txn || !tst?.held.length) return undefined
  const { own, shared } = config
  return decide({
    plugin: this, connection, results: txn.results, phase: 'data', hook: 'data_post', check: 'recipients',
    verdict: { id: 'G8/G9', vars: { email: tst.held[0] }, reason: `unknown recipients: ${tst.held.join(', ')}` },
    monitor: isMonitor(own.recipients, shared.main.monitor), tagAll: shared.main.tag_all,
  })
})
