// `support-codes codes`: the catalog as a plain table, with the setting that
// turns each check on, so a code in a bounce leads to its check and its key.
import { CATALOG } from './catalog'
import { templateLine } from './render'

const PHASE = { connect: 'connect', mailfrom: 'MAIL FROM', rcpt: 'RCPT TO', data: 'DATA' } as const

/** Where each check is configured (file [section]). */
export const CHECK_OF: Record<string, string> = {
  G2: 'support-codes-connect.ini [concurrency]',
  G1F: 'support-codes-connect.ini [ptr]',
  G34: 'support-codes-mailfrom.ini [null_sender]',
  G29: 'support-codes-mailfrom.ini [sender_rate]',
  G31: 'support-codes-rcpt.ini [dnsbl]',
  G32: 'support-codes-rcpt.ini [dnsbl]',
  G28: 'support-codes-rcpt.ini [new_ip]',
  G14: 'support-codes-rcpt.ini [sender_mx]',
  'G8/G9': 'support-codes-rcpt.ini [recipients], [callout]',
  G6: 'support-codes-rcpt.ini [callout]',
  G7: 'support-codes-rcpt.ini [callout]',
  GE: 'support-codes-rcpt.ini [sender_blocks]',
  G30: 'support-codes-rcpt.ini [mailbox_rate]',
  G16: 'support-codes-data.ini [loop]',
  G19: 'support-codes-data.ini [mime] partial',
  G18: 'support-codes-data.ini [mime] contenttype',
  G1A: 'support-codes-data.ini [attachments] archives',
  G1B: 'support-codes-data.ini [attachments] banned',
  G1C: 'support-codes-data.ini [attachments] winzip',
  G1D: 'support-codes-data.ini [attachments] clsid',
  'G3/G4/G5': 'support-codes-data.ini [virus]',
  'VIRUS-TEMP': 'support-codes-data.ini [virus] on_error',
  'MX-TEMP': 'support-codes-rcpt.ini [sender_mx] dns_error',
  'SCAN-TEMP': 'support-codes-data.ini [scan] defer',
  R2: 'support-codes-data.ini [spf]',
  G15: 'support-codes-data.ini [dmarc]',
  G1E: 'support-codes-data.ini [dmarc]',
}

export function codesTable(): string {
  const rows = CATALOG.map((e) => [e.id, PHASE[e.phase], CHECK_OF[e.id] ?? '', templateLine(e)])
  const head = ['code', 'phase', 'setting', 'reply line']
  const width = (i: number): number => Math.max(head[i].length, ...rows.map((r) => r[i].length))
  const fmt = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width(i)))).join('  ').trimEnd()
  return [fmt(head), ...rows.map(fmt)].join('\n') + '\n'
}
