// support-codes/data: checks after the final dot (lib/phases/data.ts): G16 (loop), G19
// (message/partial), G18 (the message is a program), G1A-G1D (dangerous
// files and archives), G3/G4/G5 (clamd), R2 (SPF), G15/G1E (DMARC).
// The message is kept once, as received, and scanned by the bundle's own
// MIME scanner, which decodes only what a check needs; Haraka's body parser
// (parse_body) is never turned on.
import { Connection, Next } from './lib/haraka/types'
import { instanceOf, PluginWith, processOf } from './lib/haraka/process'
import { MessageCapture } from './lib/haraka/message-capture'
import { hook, skipped, skipReason, registerPlugin } from './lib/haraka/hook'
import { PluginConfig } from './lib/haraka/plugin-config'
import { clamdPing } from './lib/content/clamd'
import { authenticate } from './lib/auth/authenticate'
import { spfFromHaraka } from './lib/haraka/spf-result'
import { applyRun, countSkipped } from './lib/haraka/apply-run'
import { dataChecks } from './lib/phases/checks-of'
import { parseBannedExtensions } from './lib/phases/data'
import { Session } from './lib/phases/session'
import { PhaseRun } from './lib/phases/run'
import { ScanThread } from './lib/content/scan-thread'

// Registered by name, once for the bundle (registerCapabilities).
export { hook_capabilities as support_codes_capabilities } from './lib/haraka/hook'

const FILE = 'support-codes-data.ini'
/** What one instance of the plugin keeps. */
class DataInstance {
  readonly config: PluginConfig<typeof FILE>
  readonly thread: ScanThread
  // The connections open in this process, by id: a message is scanned on the
  // thread only while another one is open, or when it is of [scan]
  // in_place_max_bytes or more. With nothing else to serve, Haraka's thread
  // would only wait for the scan, and the hand-over would add to the reply's
  // delay; a large message still goes to the thread, so that a connection
  // opened meanwhile is served.
  readonly open = new Set<string>()
  /** The messages kept as they arrive, within [scan] max_kept_bytes (lib/haraka/message-capture.ts). */
  readonly capture = new MessageCapture()
  private banned: { version: number; set: Set<string> } | undefined

  constructor(plugin: DataPlugin) {
    this.config = new PluginConfig(plugin, FILE)
    this.thread = new ScanThread((level, message) => (level === 'warn' ? plugin.logwarn(message) : plugin.lognotice(message)))
    this.thread.queueChanged = processOf(plugin).scanQueue
  }

  bannedExtensions(): Set<string> {
    const { config } = this
    if (this.banned?.version === config.version) return this.banned.set
    const set = parseBannedExtensions(config.lines('support-codes.banned_extensions'), (m) => config.report(m))
    this.banned = { version: config.version, set }
    return set
  }
}

/** A Haraka instance of this plugin: what it keeps is made in register(). */
type DataPlugin = PluginWith<DataInstance>

export function register(this: DataPlugin): void {
  const { config } = registerPlugin(this, () => new DataInstance(this))
  // Say at start, once, when the configured clamd does not answer, and what
  // happens to mail meanwhile.
  const { clamd, on_error } = config.own.virus
  if (clamd) {
    void clamdPing(clamd, 3000).then((why) => {
      if (!why) return
      const meanwhile = on_error === 'defer' ? 'messages get 451 4.3.0 until it answers ([virus] on_error=defer)' : 'messages are accepted unscanned until it answers ([virus] on_error=accept)'
      this.logwarn(`clamd ${clamd} does not answer (${why}): ${meanwhile}`)
    })
  }
}

/** Messages larger than this are read back from Haraka's message stream instead of kept as they arrive. */
const CAPTURE_MAX_BYTES = 64 * 1024 * 1024

export function hook_connect_init(this: DataPlugin, next: Next, connection?: Connection): void {
  if (connection?.uuid) this.supportCodesInstance?.open.add(connection.uuid)
  next()
}

export function hook_disconnect(this: DataPlugin, next: Next, connection?: Connection): void {
  if (connection?.uuid) this.supportCodesInstance?.open.delete(connection.uuid)
  try {
    // A transaction Haraka dropped without destroying its stream gives its bytes back here.
    if (connection) this.supportCodesInstance?.capture.releaseOwner(connection)
  } catch (err) {
    connection?.logerror?.(this, `releasing the connection's messages: ${String(err)}`)
  }
  next()
}

// At the DATA command: keep the message as it arrives (see lib/haraka/message-capture.ts).
export const hook_data = hook('data', function (this: DataPlugin, connection: Connection) {
  const txn = connection.transaction
  const { config, capture } = instanceOf(this)
  if (txn && !skipReason(connection, config.allow)) capture.startCapture(txn, CAPTURE_MAX_BYTES, config.own.scan.max_kept_bytes, connection)
  return undefined
})

export const hook_data_post = hook('data_post', async function (this: DataPlugin, connection: Connection) {
  const txn = connection.transaction
  if (!txn) return undefined
  const self = instanceOf(this)
  const { config, open } = self
  if (skipped(this, connection, config.allow, txn.results)) {
    countSkipped(this, dataChecks, config.own)
    return undefined
  }
  const { own, shared } = config
  const bundle = processOf(this)
  const session = new Session({ monitor: shared.main.monitor, data: own, counters: bundle.counters })
  // SPF and DMARC may still read the message after a refusal (see dataPhase).
  let reading: Promise<unknown> | undefined
  const scanner = self.thread
  let run: PhaseRun
  try {
    run = await session.data({
      // The Received header Haraka has just added carries this transaction's id: not counted.
      received: txn.header.get_all('Received').filter((v) => !v.includes(txn.uuid)),
      self: [config.hostname()],
      raw: () => self.capture.messageOf(txn, connection),
      banned: self.bannedExtensions(),
      clamdFailed: bundle.clamdFailed,
      scan: (raw, settings) => scanner.facts(raw, settings, {
        minBytes: open.size > 1 ? own.scan.thread_min_bytes : 0,
        forceBytes: own.scan.in_place_max_bytes,
        timeoutMs: own.scan.timeout * 1000,
      }),
      authenticate: (raw) => (reading = authenticate({
        raw,
        ip: connection.remote.ip,
        helo: connection.hello?.host ?? '',
        mailFrom: txn.mail_from && !txn.mail_from.isNull() ? txn.mail_from.address : '',
        mta: config.hostname(),
        resolver: config.mailauth(),
        spfFromHaraka: spfFromHaraka(txn),
        maxLookupsMs: shared.dns.timeout * 3000,
        maxLookups: shared.dns.max_lookups,
        maxFromDomains: own.dmarc.max_from_domains,
        maxDkimSignatures: own.dmarc.max_dkim_signatures,
      })),
    })
  } finally {
    // Once nothing reads the message any more, its buffer serves the next one.
    const release = (): void => self.capture.releaseMessage(txn)
    if (reading) reading.then(release, release)
    else release()
  }
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'data', hook: 'data_post', tagAll: shared.main.tag_all })
})
