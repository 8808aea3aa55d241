// support-codes/data: checks after the final dot, in order: G16 (loop), G19
// (message/partial), G18 (the message is a program), G1A-G1D (dangerous
// files and archives), G3/G4/G5 (clamd), R2 (SPF), G15/G1E (DMARC).
// The message is kept once, as received, and scanned by the bundle's own
// MIME scanner, which decodes only what a check needs; Haraka's body parser
// (parse_body) is never turned on.
import { Connection, HarakaPlugin } from './lib/haraka-types'
import { messageOf, startCapture } from './lib/message-capture'
import { decide, hook, Outcome, skipReason } from './lib/hook'
import { PluginConfig } from './lib/plugin-config'
import { isMonitor } from './lib/settings'
import { Verdict } from './lib/render'
import { loopCheck } from './lib/checks/loop'
import { contentTypeCheck, partialCheck } from './lib/checks/mime-content'
import { attachmentCheck } from './lib/checks/attachments'
import { virusCheck } from './lib/checks/virus'
import { spfCheck } from './lib/checks/spf'
import { dmarcCheck } from './lib/checks/dmarc'
import { clamdPing, clamdScan } from './lib/clamd'
import { gatherAttachments } from './lib/attachment-facts'
import { scanMime } from './lib/mime/scan'
import { authenticate } from './lib/auth/authenticate'
import { mailauthResolver } from './lib/auth/resolver'
import { spfFromHaraka } from './lib/haraka-spf'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-data.ini'
let config: PluginConfig<typeof FILE>
let banned: { version: number; set: Set<string> } | undefined

export function register(this: HarakaPlugin): void {
  config = new PluginConfig(this, FILE)
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
  const set = new Set<string>()
  config.lines('support-codes.banned_extensions').forEach((line, i) => {
    const text = line.replace(/#.*/, '').trim().toLowerCase().replace(/^\./, '')
    if (!text) return
    if (!/^[a-z0-9_-]{1,32}$/.test(text)) {
      config.report(`support-codes.banned_extensions line ${i + 1}: "${line.trim()}" is not a file extension; line skipped`)
      return
    }
    set.add(text)
  })
  banned = { version: config.version, set }
  return set
}

/** Messages larger than this are read back from Haraka's message stream instead of kept as they arrive. */
const CAPTURE_MAX_BYTES = 64 * 1024 * 1024

// At the DATA command: keep the message as it arrives (see message-capture.ts).
export const hook_data = hook('data', function (this: HarakaPlugin, connection: Connection) {
  const txn = connection.transaction
  if (txn && !skipReason(connection, config.allow)) startCapture(txn as unknown as Parameters<typeof startCapture>[0], CAPTURE_MAX_BYTES)
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
  const fire = (check: keyof typeof own, verdict: Verdict): Outcome => decide({
    plugin: this, connection, results: txn.results, phase: 'data', hook: 'data_post', check, verdict,
    monitor: isMonitor(own[check] as { monitor?: boolean }, shared.main.monitor), tagAll: shared.main.tag_all,
  })
  const pass = (check: string): void => { txn.results.add(this, { pass: check }) }
  const header = (txn as unknown as { header: { get_all(name: string): string[] } }).header

  // G16, on the Received headers the message came with: the one Haraka has
  // just added (it carries this transaction's id) is not counted.
  const received = header.get_all('Received').filter((v) => !v.includes(txn.uuid))
  const loop = loopCheck({ received, self: [config.hostname()] }, own.loop)
  if (loop) {
    const out = fire('loop', loop)
    if (out) return out
  } else pass('loop')

  const raw = await messageOf(txn as unknown as Parameters<typeof messageOf>[0])
  const a = own.attachments
  const needMime = own.mime.partial || own.mime.contenttype || a.archives || a.banned || a.winzip || a.clsid
  const scanLimits = { maxParts: Math.max(100, a.max_entries), maxDepth: 50, maxHeaderBytes: 64 * 1024 }
  const scan = needMime ? scanMime(raw, scanLimits) : undefined
  if (scan?.problems.length) {
    txn.results.add(this, { msg: `mime: ${scan.problems.map((p) => `${p.kind} (${p.detail})`).join('; ')}` })
  }

  if (scan) {
    // G19
    if (own.mime.partial) {
      const verdict = partialCheck({ contentTypes: scan.parts.map((p) => p.contentType) })
      if (verdict) {
        const out = fire('mime', verdict)
        if (out) return out
      } else pass('mime.partial')
    }
    // G18
    if (own.mime.contenttype) {
      const verdict = contentTypeCheck({ topLevelName: scan.parts[0]?.params.name })
      if (verdict) {
        const out = fire('mime', verdict)
        if (out) return out
      } else pass('mime.contenttype')
    }
    // G1A, G1B, G1C, G1D
    if (a.archives || a.banned || a.winzip || a.clsid) {
      const facts = gatherAttachments(raw, scan, {
        archives: a.archives,
        maxArchiveBytes: a.max_archive_bytes,
        scanLimits,
        limits: { maxDepth: a.max_depth, maxEntries: a.max_entries, maxNestedBytes: a.max_nested_bytes, maxRatio: a.max_ratio, maxTotalBytes: a.max_total_bytes },
      })
      const verdict = attachmentCheck(facts, a, bannedExtensions())
      if (verdict) {
        const out = fire('attachments', verdict)
        if (out) return out
      } else pass('attachments')
    }
  }

  // G3/G4/G5
  if (own.virus.clamd) {
    const result = await clamdScan(own.virus.clamd, raw, { timeoutMs: own.virus.timeout * 1000, maxBytes: own.virus.max_bytes })
    if (result.status === 'virus') txn.results.add(this, { virus: result.name })
    if (result.status === 'error') connection.logwarn(this, `clamd ${own.virus.clamd}: ${result.why}`)
    const verdict = virusCheck({ scan: result }, own.virus)
    if (verdict) {
      const out = fire('virus', verdict)
      if (out) return out
    } else pass('virus')
  }

  // R2, G15, G1E
  if (own.spf.reject_fail || own.dmarc.reject || own.dmarc.temperror === 'defer') {
    const mailFrom = txn.mail_from && !txn.mail_from.isNull() ? txn.mail_from.address : ''
    const helo = (connection as unknown as { hello?: { host?: string } }).hello?.host ?? ''
    const facts = await authenticate({
      raw, ip: connection.remote.ip, helo, mailFrom, mta: config.hostname(),
      resolver: mailauthResolver(shared.dns.servers, shared.dns.timeout, shared.dns.cache_ttl),
      spfFromHaraka: spfFromHaraka(txn),
      maxLookupsMs: shared.dns.timeout * 3000,
    })
    // Recorded whatever is decided: quarantine and none are accepted, and
    // other plugins (or the operator) can act on them.
    txn.results.add(this, {
      spf: facts.spf.result, spf_source: facts.spf.source, dmarc: facts.dmarc?.result ?? 'none',
      dmarc_policy: facts.dmarc?.policy ?? '', dmarc_domain: facts.dmarc?.domain ?? '', emit: true,
    })
    const r2 = spfCheck(facts, own.spf)
    if (r2) {
      const out = fire('spf', r2)
      if (out) return out
    } else pass('spf')
    const dmarc = dmarcCheck(facts, own.dmarc)
    if (dmarc) {
      const out = fire('dmarc', dmarc)
      if (out) return out
    } else pass('dmarc')
  }
  return undefined
})
