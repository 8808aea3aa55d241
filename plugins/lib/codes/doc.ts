// Generates docs/codes.md from the catalog (`npm run docs`); a unit test
// fails when the committed page and the catalog differ.
import { CATALOG, CatalogEntry, PROVIDER_ROWS } from './catalog'
import { isUntagged, templateLine } from './render'

const EXAMPLE_VARS: Record<string, string> = {
  '{IP}': '198.51.100.7',
  '${ip}': '198.51.100.7',
  '{EMAIL}': 'bob@example.com',
  '${zone}': 'bl.example',
  '${result}': '127.0.0.2',
  '{MAIL FROM DOMAIN}': 'sender.example',
  '{DMARC DOMAIN}': 'sender.example',
}

const PHASE_TITLE = { connect: 'Connect', mailfrom: 'MAIL FROM', rcpt: 'RCPT TO', data: 'DATA' } as const

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/_/g, '\\_')
}

function row(e: CatalogEntry): string {
  const line = templateLine(e)
  return `| ${e.codes.join(', ')} | ${PHASE_TITLE[e.phase]} | ${e.smtp} | ${e.enhanced ?? ''} | \`${line}\` | ${cell(e.meaning || '(no description in the table)')} |`
}

export function codesMarkdown(): string {
  const out: string[] = [
    '# Support codes',
    '',
    'Generated from `plugins/lib/codes/catalog.ts` by `npm run docs`; do not edit by hand.',
    '',
    'Every reply the bundle sends is one row below, byte for byte, with its',
    'variables filled in: `{IP}` and `${ip}` the client IP, `{EMAIL}` the address',
    'the row names, `${zone}` the DNS list zone and `${result}` its answer,',
    '`{MAIL FROM DOMAIN}` the envelope sender\'s domain, `{DMARC DOMAIN}` the domain',
    'whose DMARC policy was applied. Addresses print without angle brackets.',
    '',
  ]
  for (const kind of ['deferral', 'rejection'] as const) {
    out.push(kind === 'deferral' ? '## Deferrals (4xx)' : '## Rejections (5xx)', '')
    out.push('| Support code | Phase | SMTP | Enhanced | Reply line | Meaning |')
    out.push('|---|---|---|---|---|---|')
    for (const e of PROVIDER_ROWS.filter((x) => x.kind === kind)) out.push(row(e))
    out.push('')
  }
  out.push(
    '## Replies of the bundle itself',
    '',
    'The provider\'s table has no line for these cases; the bundle sends these,',
    'from the same catalog:',
    '',
    '| Id | Phase | SMTP | Enhanced | Reply line | When |',
    '|---|---|---|---|---|---|',
  )
  for (const e of CATALOG.filter((x) => x.source === 'bundle')) {
    out.push(`| ${e.id} | ${PHASE_TITLE[e.phase]} | ${e.smtp} | ${e.enhanced ?? ''} | \`${e.smtp} ${e.template}\` | ${cell(e.meaning)} |`)
  }
  out.push('')
  const untagged = [...new Set(PROVIDER_ROWS.filter(isUntagged).map((e) => e.codes.join(', ')))]
  out.push(
    '## Replies without a support code',
    '',
    `The table gives ${untagged.length} replies no support code in their text: ${untagged.join(', ')}.`,
    'They are sent exactly as the table has them; with `tag_all=true` in',
    '`[main]` of `support-codes.ini` the code is appended, for example',
    '`450 4.2.1 Mailbox received too much email in a short period of time (G30)`.',
    '',
    '## Example lines',
    '',
    '```',
  )
  const seen = new Set<string>()
  for (const e of PROVIDER_ROWS) {
    let line = templateLine(e)
    for (const [token, value] of Object.entries(EXAMPLE_VARS)) line = line.split(token).join(value)
    if (seen.has(line)) continue
    seen.add(line)
    out.push(line)
  }
  out.push('```', '')
  return out.join('\n')
}

if (require.main === module) process.stdout.write(codesMarkdown())
