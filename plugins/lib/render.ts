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

const PLACEHOLDERS: ReadonlyArray<[string, keyof Vars]> = [
  ['{IP}', 'ip'],
  ['${ip}', 'ip'],
  ['{EMAIL}', 'email'],
  ['${zone}', 'zone'],
  ['${result}', 'result'],
  ['{MAIL FROM DOMAIN}', 'mailFromDomain'],
  ['{DMARC DOMAIN}', 'dmarcDomain'],
]

// A value that carried CR, LF or other controls could end the reply line
// early or forge a second one: they are dropped.
function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]/g, '')
}

/** True where the template names none of its support codes (G30, G28, G29, G34, GE, R2). */
export function isUntagged(entry: CatalogEntry): boolean {
  return entry.codes.length > 0 && entry.codes.every((code) => !entry.template.includes(code))
}

/** The reply text after the SMTP code: enhanced code first, variables filled. */
export function renderText(entry: CatalogEntry, vars: Vars = {}, opts: RenderOptions = {}): string {
  let text = entry.template
  for (const [token, key] of PLACEHOLDERS) {
    if (!text.includes(token)) continue
    const value = vars[key]
    if (value === undefined || value === '') {
      throw new Error(`${entry.id}: no value for ${token}`)
    }
    text = text.split(token).join(clean(value))
  }
  if (entry.enhanced && !text.startsWith(`${entry.enhanced} `)) {
    text = `${entry.enhanced} ${text}`
  }
  if (opts.tagAll && isUntagged(entry)) {
    text = `${text} (${entry.codes.join(', ')})`
  }
  return text
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

/** Renders a check's verdict for the phase that sends it. */
export function renderVerdict(verdict: Verdict, phase: Phase, opts: RenderOptions = {}): { entry: CatalogEntry; text: string; line: string } {
  const entry = entryFor(verdict.id, phase)
  const text = renderText(entry, verdict.vars, opts)
  return { entry, text, line: `${entry.smtp} ${text}` }
}
