// The data plugin's checks after the final dot, in order: G16 (loop), the
// scan limits (G1A, or SCAN-TEMP for those in [scan] defer), G19
// (message/partial), G18 (the message is a program), G1A-G1D (dangerous
// files and archives), G3/G4/G5 (clamd), R2 (SPF), G15/G1E (DMARC).
import { AuthFacts } from '../auth/authenticate'
import { headerEnd } from '../auth/headers'
import { attachmentCheck } from '../checks/attachments'
import { dmarcCheck, DmarcFacts, dmarcOverride, rejectFails } from '../checks/dmarc'
import { loopCheck, selfCount } from '../checks/loop'
import { contentTypeCheck, partialCheck } from '../checks/mime-content'
import { spfCheck } from '../checks/spf'
import { virusCheck } from '../checks/virus'
import { ClamdResult, clamdScan } from '../content/clamd'
import { ContentFacts, ContentSettings, needsScan, scanWithReaders, ScanLimit } from '../content/scan'
import { loadArchiveReaders } from '../content/archive/readers'
import { Verdict } from '../codes/render'
import { SettingsOf } from '../config/schema'
import { PhaseRun } from './run'

export type DataSettings = SettingsOf<'support-codes-data.ini'>

/** support-codes.banned_extensions as a set; bad lines are named through report(). */
export function parseBannedExtensions(lines: readonly string[], report: (message: string) => void): Set<string> {
  const set = new Set<string>()
  lines.forEach((line, i) => {
    const text = line.replace(/#.*/, '').trim().toLowerCase().replace(/^\./, '')
    if (!text) return
    if (!/^[a-z0-9_-]{1,32}$/.test(text)) {
      report(`support-codes.banned_extensions line ${i + 1}: "${line.trim()}" is not a file extension; line skipped`)
      return
    }
    set.add(text)
  })
  return set
}

export interface DataFacts {
  /** Values of the Received headers the message came with. */
  received: readonly string[]
  /** This host's names. */
  self: readonly string[]
  /** The message; rejects with an error named MemoryBudgetExceeded when it was not kept ([scan] max_kept_bytes). */
  raw: () => Promise<Buffer>
  banned: ReadonlySet<string>
  /** SPF and DMARC for the message (mailauth, or haraka-plugin-spf's SPF result). */
  authenticate: (raw: Buffer) => Promise<AuthFacts>
  /** Told once per clamd scan that failed (no connection, timeout, an error answer); not for a message past [virus] max_bytes. */
  clamdFailed?: () => void
  /** Reads what the content checks judge (content/scan-thread.ts); in place when absent. */
  scan?: (raw: Buffer, settings: ContentSettings) => Promise<ContentFacts>
}

// explain's scan: no thread, the archive readers loaded if the message needs them
const scanInPlace = async (raw: Buffer, settings: ContentSettings): Promise<ContentFacts> => scanWithReaders(raw, settings, loadArchiveReaders)

/** Whether R2, G15 or G1E can fire: authentication is skipped otherwise. */
export function needsAuth(own: DataSettings): boolean {
  return own.spf.reject_fail || own.dmarc.reject || own.dmarc.temperror === 'defer'
}

/** A scan limit reached is an answer, never an acceptance: G1A (a banned file may be past it), or SCAN-TEMP for the limits in [scan] defer. */
export function limitVerdict(limit: ScanLimit, own: DataSettings): Verdict {
  return { id: own.scan.defer.includes(limit.name) ? 'SCAN-TEMP' : 'G1A', reason: `${limit.name} limit: ${limit.detail}` }
}

const LF = 0x0a
const CR = 0x0d

/**
 * The message's own header section against [scan] max_header_bytes and
 * max_header_lines, as mailauth will read it (auth/headers.ts headerEnd):
 * only the first max_header_bytes + 1 bytes are looked at, so a header of
 * any length costs at most that.
 */
export function headerSectionLimit(raw: Buffer, own: DataSettings): ScanLimit | undefined {
  const maxBytes = own.scan.max_header_bytes
  const window = raw.subarray(0, Math.min(raw.length, maxBytes + 1))
  const end = headerEnd(window)
  if (end > maxBytes) return { name: 'header', detail: `the message's header section is longer than ${maxBytes} bytes ([scan] max_header_bytes)` }
  let lines = 0
  for (let i = window.indexOf(LF); i >= 0 && i < end; i = window.indexOf(LF, i + 1)) lines++
  // the empty line that ends the section is not one of its lines
  const empty = end >= 1 && window[end - 1] === LF && (end === 1 || window[end - 2] === LF || (window[end - 2] === CR && (end === 2 || window[end - 3] === LF)))
  if (empty) lines--
  const maxLines = own.scan.max_header_lines
  if (lines > maxLines) return { name: 'header', detail: `the message's header section has ${lines} lines, over [scan] max_header_lines ${maxLines}` }
  return undefined
}

function isMemoryBudgetExceeded(err: unknown): err is Error {
  return err instanceof Error && err.name === 'MemoryBudgetExceeded'
}

export async function dataPhase(run: PhaseRun, own: DataSettings, f: DataFacts): Promise<void> {
  // G16
  const mine = selfCount(f.received, f.self)
  const loopSaw = `${f.received.length} Received header(s), max ${own.loop.max_received}; ${mine} by this host, max ${own.loop.max_self}`
  if (run.judge('loop', loopCheck({ received: f.received, self: f.self }, own.loop), loopSaw)) return

  let raw: Buffer
  try {
    raw = await f.raw()
  } catch (err) {
    if (!isMemoryBudgetExceeded(err)) throw err
    const limit: ScanLimit = { name: 'memory', detail: err.message }
    run.judge('scan', limitVerdict(limit, own), `the message was not kept: ${err.message}`)
    return
  }
  const scanNeeded = needsScan(own)
  const authNeeded = needsAuth(own)
  // Before authentication: mailauth's header parser is quadratic in folded
  // lines, so it is never handed a header section over the limits, whatever
  // the verdict (monitor mode included).
  const header = scanNeeded || authNeeded ? headerSectionLimit(raw, own) : undefined
  if (header && run.judge('scan', limitVerdict(header, own), `${header.name} limit: ${header.detail}`)) return
  // SPF and DMARC start now, so their lookups overlap the content scan; they
  // are judged in their turn. A refusal before then does not wait for them
  // (the caller keeps the message until they are done: authenticate may
  // still be reading it), and their failure then goes unheard.
  const auth = authNeeded && !header ? f.authenticate(raw) : undefined
  auth?.catch(() => undefined)
  await judgeMessage(run, own, f, raw, auth, scanNeeded, header !== undefined)
}

async function judgeMessage(
  run: PhaseRun, own: DataSettings, f: DataFacts, raw: Buffer, auth: Promise<AuthFacts> | undefined, scanNeeded: boolean, judged: boolean,
): Promise<void> {
  const content = scanNeeded ? await (f.scan ?? scanInPlace)(raw, own) : undefined
  if (content?.problems.length) run.note({ msg: `mime: ${content.problems.join('; ')}` })

  // the scan limits, unless the header section already answered
  if (!judged) {
    const limit = content?.limit
    const saw = limit ? `${limit.name} limit: ${limit.detail}`
      : content ? 'the scan read the whole message'
      : auth ? 'header section within the limits' : 'no content check or authentication on'
    if (run.judge('scan', limit && limitVerdict(limit, own), saw)) return
  }

  if (content) {
    // G19
    if (own.mime.partial) {
      const { contentTypes } = content
      const saw = `${contentTypes.length} MIME part(s): ${[...new Set(contentTypes)].slice(0, 8).join(', ')}`
      if (run.judge('mime', partialCheck({ contentTypes }), saw, 'mime.partial')) return
    }
    // G18
    if (own.mime.contenttype) {
      const name = content.topLevelName
      const saw = name === undefined ? 'top-level Content-Type names no file' : `top-level Content-Type name="${name}"`
      if (run.judge('mime', contentTypeCheck({ topLevelName: name }), saw, 'mime.contenttype')) return
    }
    // G1A, G1B, G1C, G1D
    const facts = content.attachments
    if (facts) {
      const names = facts.filenames.slice(0, 8).map((n) => `"${n}"`).join(', ')
      const saw = `file names: ${names || 'none'}${facts.filenames.length > 8 ? ', ...' : ''}; ${facts.archives.length} archive(s)`
      const strict = own.attachments.unsafe_archive === 'accept'
        ? () => attachmentCheck(facts, { ...own.attachments, unsafe_archive: 'reject' }, f.banned) : undefined
      if (run.judgeLenient('attachments', attachmentCheck(facts, own.attachments, f.banned), strict, saw)) return
    }
  }

  // G3/G4/G5
  if (own.virus.clamd) {
    // Past max_bytes clamd would see only the message's start, and what
    // follows could carry anything: as a scan clamd could not finish, never as clean.
    let result: ClamdResult
    if (raw.length > own.virus.max_bytes) {
      result = { status: 'error', why: `the message (${raw.length} bytes) is larger than [virus] max_bytes (${own.virus.max_bytes}): not scanned` }
    } else {
      result = await clamdScan(own.virus.clamd, raw, { timeoutMs: own.virus.timeout * 1000, maxBytes: own.virus.max_bytes })
      if (result.status === 'error') f.clamdFailed?.()
    }
    if (result.status === 'virus') run.note({ virus: result.name })
    if (result.status === 'error') run.warn(`clamd ${own.virus.clamd}: ${result.why}`)
    const saw = result.status === 'virus' ? `clamd found ${result.name}` : result.status === 'error' ? `clamd: ${result.why}` : 'clamd found nothing'
    const strict = own.virus.on_error === 'accept' ? () => virusCheck({ scan: result }, { on_error: 'defer' }) : undefined
    if (run.judgeLenient('virus', virusCheck({ scan: result }, own.virus), strict, saw)) return
  }

  // R2, G15, G1E
  if (auth) {
    const facts = await auth
    // Recorded whatever is decided: quarantine and none are accepted, and
    // other plugins (or the operator) can act on them.
    run.note({
      spf: facts.spf.result, spf_source: facts.spf.source, dmarc: facts.dmarc?.result ?? 'none',
      dmarc_policy: facts.dmarc?.policy ?? '', dmarc_domain: facts.dmarc?.domain ?? '', emit: true,
    })
    // The message's DNS queries against [dns] max_lookups; refusals past it explain a temperror.
    if (facts.lookups) run.note({ dns_lookups: facts.lookups.count, ...(facts.lookups.refused ? { dns_refused: facts.lookups.refused } : {}) })
    const spfSaw = `SPF ${facts.spf.result} for ${facts.spf.domain || '(no domain)'} (${facts.spf.source})`
    if (run.judge('spf', spfCheck(facts, own.spf), spfSaw)) return
    const d = facts.dmarc
    // ARC only where it could lift a G15: trusted sealers set and a reject
    // fail that override_domains leaves standing; other mail costs nothing more.
    const plain: DmarcFacts = { dmarc: facts.dmarc, from: facts.from }
    const arc = own.dmarc.reject && own.dmarc.trusted_arc_sealers.length && facts.verifyArc && !dmarcOverride(plain, own.dmarc) && rejectFails(plain).length
      ? await facts.verifyArc() : undefined
    const judged: DmarcFacts = arc ? { ...plain, arc } : plain
    const override = own.dmarc.reject ? dmarcOverride(judged, own.dmarc) : undefined
    if (override) run.note({ [override.kind]: override.sealer ? `${override.sealer} for ${override.domains.join(', ')}` : override.domains.join(', '), emit: true })
    const arcSaw = arc ? `; ARC ${arc.result}${arc.sealer ? ` sealed by ${arc.sealer}` : ''}${arc.firstDmarc ? `, i=1 dmarc=${arc.firstDmarc.result}${arc.firstDmarc.from ? ` for ${arc.firstDmarc.from}` : ''}` : ''}${arc.reason ? `: ${arc.reason}` : ''}` : ''
    const overSaw = override ? `; not refused: ${override.kind === 'arc_override' ? `ARC sealed by trusted ${override.sealer ?? '?'}` : 'in [dmarc] override_domains'} (${override.kind})` : ''
    const dmarcSaw = (d
      ? `DMARC ${d.result} for ${d.fromDomain ?? '?'}${d.policy ? `, policy ${d.policy} (${d.domain ?? '?'})` : ''}${d.uncertain ? `, uncertain: ${d.uncertain}` : ''}`
      : `no DMARC evaluation${facts.from.note ? `: ${facts.from.note}` : ''}`) + arcSaw + overSaw
    const strict = own.dmarc.temperror === 'accept' ? () => dmarcCheck(judged, { ...own.dmarc, temperror: 'defer' }) : undefined
    run.judgeLenient('dmarc', dmarcCheck(judged, own.dmarc), strict, dmarcSaw)
  }
}
