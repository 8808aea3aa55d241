// support-codes/data: checks after the final dot (lib/phases/data.ts): G16 (loop), G19
// (message/partial), G18 (the message is a program), G1A-G1D (dangerous
// files and archives), G3/G4/G5 (clamd), R2 (SPF), G15/G1E (DMARC).
// The message is kept once, as received, and scanned by the bundle's own
// MIME scanner, which decodes only what a check needs; Haraka's body parser
// (parse_body) is never turned on.
import { Connection, HarakaPlugin, Next } from './lib/haraka/types'
import { messageOf, releaseMessage, releaseOwner, startCapture } from './lib/haraka/message-capture'
import { hook, skipReason, registerCapabilities } from './lib/haraka/hook'
import { PluginConfig } from './lib/haraka/plugin-config'
import { clamdPing } from './lib/content/clamd'
import { authenticate } from './lib/auth/authenticate'
import { mailauthResolver } from './lib/dns/mailauth'
import { spfFromHaraka } from './lib/haraka/spf-result'
import { applyRun, phaseRun } from './lib/haraka/apply-run'
import { dataPhase, parseBannedExtensions } from './lib/phases/data'
import { ScanThread } from './lib/content/scan-thread'

// Registered by name, once for the bundle (registerCapabilities).
export { hook_capabilities as support_codes_capabilities } from './lib/haraka/hook'

const FILE = 'support-codes-data.ini'
let config: PluginConfig<typeof FILE>
let banned: { version: number; set: Set<string> } | undefined
let thread: ScanThread | undefined

export function register(this: HarakaPlugin): void {
  registerCapabilities(this)
  config = new PluginConfig(this, FILE)
  thread = new ScanThread((level, message) => (level === 'warn' ? this.logwarn(message) : this.lognotice(message)))
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

function bannedExtensions(): Set<string> {
  if (banned?.version === config.version) return banned.set
  const set = parseBannedExtensions(config.lines('support-codes.banned_extensions'), (m) => config.report(m))
  banned = { version: config.version, set }
  return set
}

/** Messages larger than this are read back from Haraka's message stream instead of kept as they arrive. */
const CAPTURE_MAX_BYTES = 64 * 1024 * 1024

// The connections open in this process, by id: a message is scanned on the
// thread only while another one is open, or when it is of [scan]
// in_place_max_bytes or more. With nothing else to serve, Haraka's thread
// would only wait for the scan, and the hand-over would add to the reply's
// delay; a large message still goes to the thread, so that a connection
// opened meanwhile is served.
const open = new Set<string>()

export function hook_connect_init(this: HarakaPlugin, next: Next, connection?: Connection): void {
  if (connection?.uuid) open.add(connection.uuid)
  next()
}

export function hook_disconnect(this: HarakaPlugin, next: Next, connection?: Connection): void {
  if (connection?.uuid) open.delete(connection.uuid)
  try {
    // A transaction Haraka dropped without destroying its stream gives its bytes back here.
    if (connection) releaseOwner(connection)
  } catch (err) {
    connection?.logerror?.(this, `releasing the connection's messages: ${String(err)}`)
  }
  next()
}

// At the DATA command: keep the message as it arrives (see lib/haraka/message-capture.ts).
export const hook_data = hook('data', function (this: HarakaPlugin, connection: Connection) {
  const txn = connection.transaction
  if (txn && !skipReason(connection, config.allow)) startCapture(txn as unknown as Parameters<typeof startCapture>[0], CAPTURE_MAX_BYTES, config.own.scan.max_kept_bytes, connection)
  return undefined
})

export const hook_data_post = hook('data_post', async function (this: HarakaPlugin, connection: Connection) {
  const txn = connection.transaction
  if (!txn) return undefined
  const skip = skipReason(connection, config.allow)
  if (skip) {
    txn.results.add(this, { skip, emit: true })
    return undefined
  }
  const { own, shared } = config
  const header = (txn as unknown as { header: { get_all(name: string): string[] } }).header
  const run = phaseRun(own, shared.main.monitor)
  // SPF and DMARC may still read the message after a refusal (see dataPhase).
  let reading: Promise<unknown> | undefined
  const scanner = thread
  try {
    await dataPhase(run, own, {
      // The Received header Haraka has just added carries this transaction's id: not counted.
      received: header.get_all('Received').filter((v) => !v.includes(txn.uuid)),
      self: [config.hostname()],
      raw: () => messageOf(txn as unknown as Parameters<typeof messageOf>[0], connection),
      banned: bannedExtensions(),
      scan: scanner && ((raw, settings) => scanner.facts(raw, settings, {
        minBytes: open.size > 1 ? own.scan.thread_min_bytes : 0,
        forceBytes: own.scan.in_place_max_bytes,
        timeoutMs: own.scan.timeout * 1000,
      })),
      authenticate: (raw) => (reading = authenticate({
        raw,
        ip: connection.remote.ip,
        helo: (connection as unknown as { hello?: { host?: string } }).hello?.host ?? '',
        mailFrom: txn.mail_from && !txn.mail_from.isNull() ? txn.mail_from.address : '',
        mta: config.hostname(),
        resolver: mailauthResolver(shared.dns.servers, shared.dns.timeout, shared.dns.cache_ttl),
        spfFromHaraka: spfFromHaraka(txn),
        maxLookupsMs: shared.dns.timeout * 3000,
        maxLookups: shared.dns.max_lookups,
        maxFromDomains: own.dmarc.max_from_domains,
        maxDkimSignatures: own.dmarc.max_dkim_signatures,
      })),
    })
  } finally {
    // Once nothing reads the message any more, its buffer serves the next one.
    const release = (): void => releaseMessage(txn)
    if (reading) reading.then(release, release)
    else release()
  }
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'data', hook: 'data_post', tagAll: shared.main.tag_all })
})
