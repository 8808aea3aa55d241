// The data plugin's checks after the final dot, in order: G16 (loop), G19
// (message/partial), G18 (the message is a program), G1A-G1D (dangerous
// files and archives), G3/G4/G5 (clamd), R2 (SPF), G15/G1E (DMARC).
import { AuthFacts } from '../auth/authenticate'
import { attachmentCheck } from '../checks/attachments'
import { dmarcCheck } from '../checks/dmarc'
import { loopCheck, selfCount } from '../checks/loop'
import { contentTypeCheck, partialCheck } from '../checks/mime-content'
import { spfCheck } from '../checks/spf'
import { virusCheck } from '../checks/virus'
import { clamdScan } from '../clamd'
import { ContentFacts, ContentSettings, needsScan, scanContent } from '../content-scan'
import { SettingsOf } from '../settings-schema'
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
  raw: () => Promise<Buffer>
  banned: ReadonlySet<string>
  /** SPF and DMARC for the message (mailauth, or haraka-plugin-spf's SPF result). */
  authenticate: (raw: Buffer) => Promise<AuthFacts>
  /** Reads what the content checks judge (scan-thread.ts); in place when absent. */
  scan?: (raw: Buffer, settings: ContentSettings) => Promise<ContentFacts>
}

const scanInPlace = async (raw: Buffer, settings: ContentSettings): Promise<ContentFacts> => scanContent(raw, settings)

/** Whether R2, G15 or G1E can fire: authentication is skipped otherwise. */
export function needsAuth(own: DataSettings): boolean {
  return own.spf.reject_fail || own.dmarc.reject || own.dmarc.temperror === 'defer'
}

export async function dataPhase(run: PhaseRun, own: DataSettings, f: DataFacts): Promise<void> {
  // G16
  const mine = selfCount(f.received, f.self)
  const loopSaw = `${f.received.length} Received header(s), max ${own.loop.max_received}; ${mine} by this host, max ${own.loop.max_self}`
  if (run.judge('loop', loopCheck({ received: f.received, self: f.self }, own.loop), loopSaw)) return

  const raw = await f.raw()
  // SPF and DMARC start now, so their lookups overlap the content scan; they
  // are judged in their turn. A refusal before then does not wait for them
  // (the caller keeps the message until they are done: authenticate may
  // still be reading it), and their failure then goes unheard.
  const auth = needsAuth(own) ? f.authenticate(raw) : undefined
  auth?.catch(() => undefined)
  await judgeMessage(run, own, f, raw, auth)
}

async function judgeMessage(run: PhaseRun, own: DataSettings, f: DataFacts, raw: Buffer, auth: Promise<AuthFacts> | undefined): Promise<void> {
  const content = needsScan(own) ? await (f.scan ?? scanInPlace)(raw, own) : undefined
  if (content?.problems.length) run.note({ msg: `mime: ${content.problems.join('; ')}` })

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
      if (run.judge('attachments', attachmentCheck(facts, own.attachments, f.banned), saw)) return
    }
  }

  // G3/G4/G5
  if (own.virus.clamd) {
    const result = await clamdScan(own.virus.clamd, raw, { timeoutMs: own.virus.timeout * 1000, maxBytes: own.virus.max_bytes })
    if (result.status === 'virus') run.note({ virus: result.name })
    if (result.status === 'error') run.warn(`clamd ${own.virus.clamd}: ${result.why}`)
    const saw = result.status === 'virus' ? `clamd found ${result.name}` : result.status === 'error' ? `clamd: ${result.why}` : 'clamd found nothing'
    if (run.judge('virus', virusCheck({ scan: result }, own.virus), saw)) return
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
    const spfSaw = `SPF ${facts.spf.result} for ${facts.spf.domain || '(no domain)'} (${facts.spf.source})`
    if (run.judge('spf', spfCheck(facts, own.spf), spfSaw)) return
    const d = facts.dmarc
    const dmarcSaw = d
      ? `DMARC ${d.result} for ${d.fromDomain ?? '?'}${d.policy ? `, policy ${d.policy} (${d.domain ?? '?'})` : ''}${d.uncertain ? `, uncertain: ${d.uncertain}` : ''}`
      : `no DMARC evaluation${facts.from.note ? `: ${facts.from.note}` : ''}`
    run.judge('dmarc', dmarcCheck(facts, own.dmarc), dmarcSaw)
  }
}
