// support-codes/rcpt: checks at RCPT TO, in order: G31/G32 (DNS lists), G28
// (new or untrusted IP), G14 (sender's MX), G8/G9 (directory), G6/G7 (live
// callout), GE (sender blocked by the recipient), G30 (mailbox rate).
// Lookups that do not depend on the recipient start early (DNS lists at
// connect, the sender's MX at MAIL FROM) so RCPT rarely waits.
import { Address, Connection } from './lib/haraka/types'
import { instanceOf, PluginWith, processOf } from './lib/haraka/process'
import { hook, skipped, skipReason, registerPlugin } from './lib/haraka/hook'
import { PluginConfig } from './lib/haraka/plugin-config'
import { isUnlistable, ZoneResult } from './lib/lists/dnsbl'
import { clientKey } from './lib/config/netlist'
import { ZoneHealth } from './lib/lists/dnsbl-health'
import { countOne, recentCount } from './lib/store/rate-window'
import { SenderMxFacts } from './lib/checks/sender-mx'
import { Callout } from './lib/callout/callout'
import { applyRun, countSkipped } from './lib/haraka/apply-run'
import { rcptChecks } from './lib/phases/checks-of'
import { calloutVia, gatherSenderMx, keys, lookupZones, rcptLists, RcptLists } from './lib/phases/rcpt'
import { Session } from './lib/phases/session'

// Registered by name, once for the bundle (registerCapabilities).
export { hook_capabilities as support_codes_capabilities } from './lib/haraka/hook'

const FILE = 'support-codes-rcpt.ini'
const NOTE = 'support_codes_rcpt'
const FIRST_SEEN_EXTRA = 30 * 86400

/** What the plugin builds from its settings and list files, rebuilt on reload. */
interface Derived extends RcptLists {
  version: number
  callout: Callout
  calloutSig: string
  zonesSig: string
}

/** What one instance of the plugin keeps: its settings, the DNS lists' health, and what it builds from both. */
class RcptInstance {
  readonly config: PluginConfig<typeof FILE>
  readonly health: ZoneHealth
  private derived: Derived | undefined
  /** Told once per callout whose server could not be reached or did not answer in time. */
  private readonly calloutFailed: () => void

  constructor(plugin: RcptPlugin) {
    this.calloutFailed = processOf(plugin).calloutFailed
    // Sections other than the schema's are DNS list zones, when [dnsbl] zones names them.
    const config = new PluginConfig(plugin, FILE, (own) => own.dnsbl.zones)
    this.config = config
    this.health = new ZoneHealth(() => config.dnsUncached(), { loginfo: (m) => plugin.loginfo(m), logwarn: (m) => plugin.logwarn(m) })
    this.current()
  }

  current(): Derived {
    const { config } = this
    if (this.derived?.version === config.version) return this.derived
    const { own } = config
    const lists = rcptLists(own, config.extra, (name) => config.lines(name), (m) => config.report(m))
    const old = this.derived
    const { timeout, max_per_server, max_per_client, max_queue } = own.callout
    const calloutSig = JSON.stringify([config.hostname(), timeout, max_per_server, max_per_client, max_queue])
    const zonesSig = JSON.stringify([lists.zones.map((z) => z.zone), own.dnsbl.recheck])
    this.derived = {
      ...lists,
      version: config.version,
      // One Callout (and its per-server limits) for as long as its settings hold.
      callout: old && old.calloutSig === calloutSig
        ? old.callout
        : new Callout({
          helo: config.hostname(), timeoutMs: timeout * 1000, maxPerServer: max_per_server, maxPerClient: max_per_client, maxQueue: max_queue,
          unreachable: this.calloutFailed,
        }),
      calloutSig,
      zonesSig,
    }
    if (old?.zonesSig !== zonesSig) this.health.watch(lists.zones, own.dnsbl.recheck)
    return this.derived
  }
}

/** The checks a skipped client's recipient does not get (module-level: nothing made per message). */
function skippedChecks(self: RcptInstance): readonly string[] {
  return rcptChecks(self.config.own, self.current())
}

/** A Haraka instance of this plugin: what it keeps is made in register(). */
type RcptPlugin = PluginWith<RcptInstance>

export function register(this: RcptPlugin): void {
  registerPlugin(this, () => new RcptInstance(this))
  this.register_hook('data_post', 'held_recipients', 50)
}

export function shutdown(this: RcptPlugin): void {
  this.supportCodesInstance?.health.stop()
  // The process's metrics listener; the next load of the settings opens it again.
  processOf(this).metricsListener.close()
}

interface ConnState {
  skip?: string
  ip: string
  /** [store] ipv6_prefix when the connection began: G28 and the callouts count an IPv6 client per network. */
  prefix: number
  /** The client as counted (lib/config/netlist.ts clientKey). */
  client: string
  dnsbl?: Promise<ZoneResult[]>
  firstSeen?: Promise<number | undefined>
}

interface TxnState {
  senderMx?: Promise<SenderMxFacts | undefined>
  /** The transaction's recipients, through the session driver: it keeps those held until DATA. */
  session?: Session
}

function connState(connection: Connection): ConnState | undefined {
  return connection.notes[NOTE] as ConnState | undefined
}

function txnState(connection: Connection): TxnState | undefined {
  const txn = connection.transaction
  if (!txn) return undefined
  let st = txn.notes[NOTE] as TxnState | undefined
  if (!st) {
    st = {}
    txn.notes[NOTE] = st
  }
  return st
}

// DNS list lookups and the first-seen record start as soon as the client's
// address is known, in parallel.
export const hook_connect_init = hook('connect_init', function (this: RcptPlugin, connection: Connection) {
  const { config, health } = instanceOf(this)
  const ip = connection.remote.ip
  const prefix = config.shared.store.ipv6_prefix
  const st: ConnState = { ip, prefix, client: clientKey(ip, prefix), skip: skipReason(connection, config.allow) }
  connection.notes[NOTE] = st
  if (st.skip) return undefined
  const { own } = config
  const d = instanceOf(this).current()
  const dns = config.dns()
  const zones = isUnlistable(ip) ? [] : d.zones.filter((z) => health.enabled(z.zone))
  if (zones.length) {
    st.dnsbl = lookupZones(dns, ip, zones, ({ zone, meaning }) => {
      health.record(zone, meaning, own.dnsbl.max_errors)
      if (meaning.kind === 'other') connection.loginfo(this, `${zone.zone} answered ${meaning.answers.join(',')}, not in its listed answers; not refused`)
      if (meaning.kind === 'error') connection.loginfo(this, `${zone.zone}: ${meaning.why}; not refused`)
    })
  }
  if (own.new_ip.limit > 0) {
    const now = Date.now()
    st.firstSeen = config.store()
      .setIfAbsent(keys.firstSeen(ip, prefix), String(now), own.new_ip.probation + FIRST_SEEN_EXTRA)
      .then(Number, () => undefined)
  }
  return undefined
})

// The sender's MX hosts are looked up once per transaction, from MAIL FROM on.
export const hook_mail = hook('mail', function (this: RcptPlugin, connection: Connection, params: Address[]) {
  const st = txnState(connection)
  const from = params[0]
  if (!st || !from || from.isNull() || !from.host || connState(connection)?.skip) return undefined
  const self = instanceOf(this)
  const { config } = self
  const { own } = config
  const d = self.current()
  if (own.sender_mx.enabled && d.mxList.size) {
    st.senderMx = gatherSenderMx(from.host.toLowerCase(), from.address, config.dns(), d.mxList.hasAddresses).catch(() => undefined)
  }
  return undefined
})

export const hook_rcpt = hook('rcpt', async function (this: RcptPlugin, connection: Connection, params: Address[]) {
  const txn = connection.transaction
  const cst = connState(connection)
  const tst = txnState(connection)
  const rcpt = params[0]
  if (!txn || !cst || !tst || !rcpt) return undefined
  const self = instanceOf(this)
  const { config } = self
  if (skipped(this, connection, config.allow, txn.results, cst.skip)) {
    countSkipped(this, skippedChecks, self)
    return undefined
  }
  const { own, shared } = config
  const d = self.current()
  const store = config.store()
  tst.session ??= new Session({ monitor: shared.main.monitor, rcpt: { own, lists: d }, counters: processOf(this).counters })
  // The counters this recipient's checks read are asked for at once, so
  // that they go to the store together (one MGET per hash slot) instead of
  // one round trip per check.
  const reads = new Map<string, Promise<number | undefined>>()
  const recent = (key: string, period: number): Promise<number | undefined> => {
    let r = reads.get(key)
    if (!r) reads.set(key, (r = recentCount(store, key, period).catch(() => undefined)))
    return r
  }
  if (own.new_ip.limit > 0) {
    for (const key of [keys.ipAccepted, keys.ipRcptOk, keys.ipRcptRefused]) void recent(key(cst.ip, cst.prefix), own.new_ip.period)
  }
  if (own.mailbox_rate.limit > 0) void recent(keys.mailbox(rcpt.address), own.mailbox_rate.period)
  const run = await tst.session.rcpt({
    ip: cst.ip,
    ipv6Prefix: cst.prefix,
    sender: txn.mail_from && !txn.mail_from.isNull() ? txn.mail_from.address : '',
    address: rcpt.address,
    domain: (rcpt.host ?? '').toLowerCase(),
    dnsbl: cst.dnsbl,
    ipAge: async () => {
      const firstSeen = await cst.firstSeen
      return firstSeen === undefined ? undefined : (Date.now() - firstSeen) / 1000
    },
    recent,
    senderMx: tst.senderMx,
    callout: calloutVia(store, own, d, config.dns(), d.callout, cst.client),
  })
  for (const step of run.steps) {
    if (!step.held) continue
    txn.results.add(this, { msg: `recipients: ${rcpt.address} unknown; refusal held until DATA` })
  }
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'rcpt', hook: 'rcpt', tagAll: shared.main.tag_all })
})

// Recipients accepted and refused (by any plugin) per client IP, for the
// "untrusted" part of G28. Counting is not waited for: nothing in this
// session depends on it, and a later read of the same key goes to the same
// Redis connection after it.
export const hook_rcpt_ok = hook('rcpt_ok', function (this: RcptPlugin, connection: Connection) {
  const cst = connState(connection)
  const { config } = instanceOf(this)
  if (!cst || cst.skip || config.own.new_ip.limit <= 0) return undefined
  void countOne(config.store(), keys.ipRcptOk(cst.ip, cst.prefix), config.own.new_ip.period).catch(() => undefined)
  return undefined
})

export const hook_deny = hook('deny', function (this: RcptPlugin, connection: Connection, params: unknown[]) {
  const cst = connState(connection)
  const { config } = instanceOf(this)
  if (params?.[5] !== 'rcpt' || !cst || cst.skip || config.own.new_ip.limit <= 0) return undefined
  void countOne(config.store(), keys.ipRcptRefused(cst.ip, cst.prefix), config.own.new_ip.period).catch(() => undefined)
  return undefined
})

// Accepted messages are counted when the queue takes them: per client IP
// (G28) and per recipient mailbox (G30), together and not waited for.
export const hook_queue_ok = hook('queue_ok', function (this: RcptPlugin, connection: Connection) {
  const cst = connState(connection)
  const txn = connection.transaction
  const { config } = instanceOf(this)
  if (!cst || !txn || cst.skip || skipReason(connection, config.allow)) return undefined
  const { own } = config
  const store = config.store()
  const work: Array<Promise<unknown>> = []
  if (own.new_ip.limit > 0) work.push(countOne(store, keys.ipAccepted(cst.ip, cst.prefix), own.new_ip.period))
  if (own.mailbox_rate.limit > 0) {
    for (const r of txn.rcpt_to) work.push(countOne(store, keys.mailbox(r.address), own.mailbox_rate.period))
  }
  for (const p of work) p.catch(() => undefined)
  return undefined
})

// G8/G9 held until DATA ([recipients] at=data): the whole message is refused,
// naming the first unknown recipient, so the directory cannot be harvested
// one RCPT at a time; each held verdict is decided by its own check's
// settings (phases/session.ts). Registered to run after the data plugin's
// checks, last in the DATA phase as the checks are listed.
export const held_recipients = hook('data_post', async function (this: RcptPlugin, connection: Connection) {
  const txn = connection.transaction
  const tst = txn?.notes[NOTE] as TxnState | undefined
  if (!txn || !tst?.session?.heldRecipients().length) return undefined
  const run = await tst.session.data()
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'data', hook: 'data_post', tagAll: instanceOf(this).config.shared.main.tag_all })
})
