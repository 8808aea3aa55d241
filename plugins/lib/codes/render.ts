// Turns a catalog entry and a check's variables into the exact reply line.
// DESIGN.md: "the SMTP code, a space, then the template with its variables
// filled in; where the template does not already begin with the enhanced
// code, the enhanced code and a space go before it."
import { CatalogEntry, CodeId, Phase, entryFor } from './catalog'

export interface Vars {
  /** Client IP as text: {IP} and ${ip}. */
  ip?: string
  /** {EMAIL}: the recipient (G6, G7, G8/G9), envelope sender (GE, G14) or From address (G1E). */
  email?: string
  /** ${zone}: the DNS list zone queried. */
  zone?: string
  /** ${result}: the A record the zone answered. */
  result?: string
  /** {MAIL FROM DOMAIN} */
  mailFromDomain?: string
  /** {DMARC DOMAIN} */
  dmarcDomain?: string
}

/** What a check returns when it fires: a catalog id and its variables. */
export interface Verdict {
  id: CodeId
  vars?: Vars
  /** Why, for the log and results only; never sent. */
  reason?: string
}

export interface RenderOptions {
  /** Append " (Gxx)" to replies whose text carries no support code. */
  tagAll?: boolean
}

const PLACEHOLDERS: Readonly<Record<string, keyof Vars>> = {
  '{IP}': 'ip',
  '${ip}': 'ip',
  '{EMAIL}': 'email',
  '${zone}': 'zone',
  '${result}': 'result',
  '{MAIL FROM DOMAIN}': 'mailFromDomain',
  '{DMARC DOMAIN}': 'dmarcDomain',
}
// Every token in one alternation, so a template is filled in one pass and
// an inserted value (an address may read "${zone}@x") is never searched again.
const TOKEN = new RegExp(Object.keys(PLACEHOLDERS).map((t) => t.replace(/[${}]/g, '\\$&')).join('|'), 'g')

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets, CRLF included. */
export const MAX_LINE = 510
const CUT_MARK = '...'

// Inserted values come from the client (addresses, names): anything but
// printable ASCII is replaced, so no control, C1 character or U+2028 can end
// the line early, forge a second one or reach a log viewer raw.
function clean(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?')
}

/** The longest value length that fits `room` characters when every longer value is cut to it. */
function fairCut(lengths: readonly number[], room: number): number {
  const sorted = [...lengths].sort((a, b) => a - b)
  let left = room
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i))
    if (sorted[i] > share) return share
    left -= sorted[i]
  }
  return Infinity
}

/** True where the template names none of its support codes (G30, G28, G29, G34, GE, R2). */
export function isUntagged(entry: CatalogEntry): boolean {
  return entry.codes.length > 0 && entry.codes.every((code) => !entry.template.includes(code))
}

export interface Rendered {
  /** The reply text after the SMTP code. */
  text: string
  /** Placeholders that had no value: the text is then the row's fixed text, placeholders as the table writes them. */
  missing: string[]
}

/**
 * Fills the template in one pass and bounds the line: values are cleaned to
 * printable ASCII and, where the line would pass 512 octets, the longest are
 * cut (marked "...") so the row's own text is always whole. A placeholder
 * without a value leaves the row's fixed text as the table prints it; a
 * render never fails, so a check's verdict is never lost to it.
 */
export function render(entry: CatalogEntry, vars: Vars = {}, opts: RenderOptions = {}): Rendered {
  const tokens = entry.template.match(TOKEN) ?? []
  const missing = [...new Set(tokens.filter((t) => !vars[PLACEHOLDERS[t]]))]
  const values = missing.length ? [] : tokens.map((t) => clean(vars[PLACEHOLDERS[t]] as string))
  const prefix = entry.enhanced && !entry.template.startsWith(`${entry.enhanced} `) ? `${entry.enhanced} ` : ''
  const suffix = opts.tagAll && isUntagged(entry) ? ` (${entry.codes.join(', ')})` : ''
  const fixed = `${entry.smtp} `.length + prefix.length + entry.template.length - tokens.join('').length + suffix.length
  const cap = fairCut(values.map((v) => v.length), MAX_LINE - fixed)
  let i = 0
  const body = missing.length
    ? entry.template
    : entry.template.replace(TOKEN, () => {
      const v = values[i++]
      return v.length <= cap ? v : v.slice(0, Math.max(0, cap - CUT_MARK.length)) + CUT_MARK.slice(0, cap)
    })
  return { text: prefix + body + suffix, missing }
}

/** The reply text after the SMTP code: enhanced code first, variables filled. */
export function renderText(entry: CatalogEntry, vars: Vars = {}, opts: RenderOptions = {}): string {
  return render(entry, vars, opts).text
}

/** The line as the table gives it, placeholders and all: "550 5.1.1 {EMAIL}: ..." (docs, `support-codes codes`). */
export function templateLine(entry: CatalogEntry): string {
  const text = entry.enhanced && !entry.template.startsWith(`${entry.enhanced} `) ? `${entry.enhanced} ${entry.template}` : entry.template
  return `${entry.smtp} ${text}`
}

/** The whole wire line, without CRLF: "550 5.0.0 Sender is not ...". */
export function renderLine(entry: CatalogEntry, vars: Vars = {}, opts: RenderOptions = {}): string {
  return `${entry.smtp} ${renderText(entry, vars, opts)}`
}

/** Renders a check's verdict for the phase that sends it; `missing` names placeholders the verdict gave no value for. */
export function renderVerdict(verdict: Verdict, phase: Phase, opts: RenderOptions = {}): { entry: CatalogEntry; text: string; line: string; missing: string[] } {
  const entry = entryFor(verdict.id, phase)
  const { text, missing } = render(entry, verdict.vars, opts)
  return { entry, text, line: `${entry.smtp} ${text}`, missing }
}
