// The provider's response-code table as data: the only place reply text lives.
// Rows follow spec/response-codes.txt in its order; templates keep the
// table's placeholders ({IP}, ${ip}, {EMAIL}, ...) so each row can be checked
// against the table by eye. Markdown escapes (dns\_rbl) are undone.

export type Phase = 'connect' | 'mailfrom' | 'rcpt' | 'data'
export type Kind = 'deferral' | 'rejection'

export interface CatalogEntry {
  /** Support code(s) as one id: 'G2', 'G8/G9', 'G3/G4/G5'. */
  readonly id: string
  /**
   * 'provider': a row of the provider's table. 'bundle': a reply the table
   * does not have but the bundle needs (a deferral while the virus scanner
   * is unavailable), so that it too comes from here.
   */
  readonly source?: 'bundle'
  /** Each support code on the row. */
  readonly codes: readonly string[]
  readonly kind: Kind
  readonly phase: Phase
  readonly smtp: number
  /** Enhanced status code; null where the table gives none (G2). */
  readonly enhanced: string | null
  readonly template: string
  /** The table's explanation; empty where the table gives none (GE, R2). */
  readonly meaning: string
}

export const CATALOG: readonly CatalogEntry[] = [
  // Deferrals (4xx)
  {
    id: 'G2', codes: ['G2'], kind: 'deferral', phase: 'connect', smtp: 421, enhanced: null,
    template: 'Too many concurrent connections from this client (G2)',
    meaning: 'Too many concurrent connections from client IP',
  },
  {
    id: 'G1F', codes: ['G1F'], kind: 'deferral', phase: 'connect', smtp: 450, enhanced: '4.7.1',
    template: '4.7.1 Client host {IP} has no PTR record (G1F)',
    meaning: 'We require that incoming IPs have a valid PTR',
  },
  {
    id: 'G6', codes: ['G6'], kind: 'deferral', phase: 'rcpt', smtp: 450, enhanced: '4.4.1',
    template: "4.4.1 {EMAIL}: The recipient's server was temporarily unavailable to accept your message (G6)",
    meaning: 'A temporary failure while attempting to verify the recipient address',
  },
  {
    id: 'G30', codes: ['G30'], kind: 'deferral', phase: 'rcpt', smtp: 450, enhanced: '4.2.1',
    template: 'Mailbox received too much email in a short period of time',
    meaning: 'We rate limit inbound email to mailboxes to protect the entire system',
  },
  {
    id: 'G28', codes: ['G28'], kind: 'deferral', phase: 'rcpt', smtp: 451, enhanced: '4.7.1',
    template: 'Received too many messages from a new or untrusted IP',
    meaning: 'We require that incoming IPs establish good sending behavior before sending large volumes of mail to our platform',
  },
  {
    id: 'G16', codes: ['G16'], kind: 'deferral', phase: 'data', smtp: 450, enhanced: '4.4.6',
    template: '4.4.6 Routing loop detected (G16)',
    meaning: 'An undeliverable mail loop was detected',
  },
  {
    id: 'G1E', codes: ['G1E'], kind: 'deferral', phase: 'data', smtp: 450, enhanced: '4.4.0',
    template: '4.4.0 {EMAIL}: Temporary DMARC DNS lookup failure (G1E)',
    meaning: "A temporary failure while looking up sender's DMARC policy",
  },

  // Rejections (5xx)
  {
    // The table lists this row under Connect; the check that sends it runs
    // after DATA (see the data row of the same code below).
    id: 'G1A', codes: ['G1A'], kind: 'rejection', phase: 'connect', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)',
    meaning: 'Block messages with .exe files in attached archives',
  },
  {
    id: 'G29', codes: ['G29'], kind: 'rejection', phase: 'mailfrom', smtp: 550, enhanced: '5.0.0',
    template: 'Received too many messages from a sender mailbox',
    meaning: 'We rate limit the email of senders to our platform to protect our system',
  },
  {
    id: 'G34', codes: ['G34'], kind: 'rejection', phase: 'mailfrom', smtp: 550, enhanced: '5.0.0',
    template: 'Sender is not allowed to send with empty mail_from',
    meaning: 'We require users to provide an email address in the MAIL FROM phase of the SMTP transaction',
  },
  {
    id: 'G8/G9', codes: ['G8', 'G9'], kind: 'rejection', phase: 'rcpt', smtp: 550, enhanced: '5.1.1',
    template: '5.1.1 {EMAIL}: Email address could not be found, or was misspelled (G8, G9)',
    meaning: 'Recipient address does not exist on our system',
  },
  {
    id: 'G7', codes: ['G7'], kind: 'rejection', phase: 'rcpt', smtp: 550, enhanced: '5.7.1',
    template: "5.7.1 {EMAIL}: The recipient's server refused to accept your message (G7)",
    meaning: 'A permanent failure while attempting to verify the recipient address',
  },
  {
    id: 'GE', codes: ['GE'], kind: 'rejection', phase: 'rcpt', smtp: 554, enhanced: '5.7.1',
    template: '5.7.1 {EMAIL}: Sender address rejected: Blocked by this recipient',
    meaning: '',
  },
  {
    id: 'G14', codes: ['G14'], kind: 'rejection', phase: 'rcpt', smtp: 550, enhanced: '5.7.1',
    template: "5.7.1 {EMAIL}: Sender's MX record not allowed (G14)",
    meaning: 'The senders domain\'s MX records match a blocklisted provider',
  },
  {
    id: 'G31', codes: ['G31'], kind: 'rejection', phase: 'rcpt', smtp: 554, enhanced: '5.7.1',
    template: '5.7.1 ACL dns_rbl; Client host [${ip}] blocked using ${zone}=${result} Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)',
    meaning: "Sender's ip is blocked by Senderscore",
  },
  {
    id: 'G32', codes: ['G32'], kind: 'rejection', phase: 'rcpt', smtp: 554, enhanced: '5.7.1',
    template: '5.7.1 ACL dns_rbl; Client host [${ip}] blocked using ${zone}=${result} Spamhaus XBL. Please visit http://www.spamhaus.org/lookup/ for more information on why this message could not be delivered (G32)',
    meaning: "Sender's ip is blocked by Spamhaus XBL",
  },
  {
    id: 'R2', codes: ['R2'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.1.0',
    template: 'Sender is not allowed to send from {MAIL FROM DOMAIN}',
    meaning: '',
  },
  {
    id: 'G8/G9', codes: ['G8', 'G9'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.1.1',
    template: '5.1.1 {EMAIL}: Email address could not be found, or was misspelled (G8, G9)',
    meaning: 'Recipient address does not exist on our system',
  },
  {
    id: 'G3/G4/G5', codes: ['G3', 'G4', 'G5'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.1',
    template: '5.7.1 Virus found (G3,G4,G5)',
    meaning: 'Message was identified as a virus by our content filter',
  },
  {
    id: 'G15', codes: ['G15'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.1',
    template: '5.7.1 Email rejected per DMARC policy for {DMARC DOMAIN} (G15)',
    meaning: 'Message failed DMARC validation',
  },
  {
    id: 'G18', codes: ['G18'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 header_contenttype_1 (G18)',
    meaning: 'Rejected for matching a known virus signature',
  },
  {
    id: 'G19', codes: ['G19'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 header_contenttype_2 - Multi-part MIME messages are rejected as dangerous (G19)',
    meaning: 'Partial MIME messages are not supported',
  },
  {
    id: 'G1A', codes: ['G1A'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)',
    meaning: 'Executables in compressed attachments are not allowed',
  },
  {
    id: 'G1B', codes: ['G1B'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)',
    meaning: 'File Types that exploit vulnerabilities in Windows programs are not allowed',
  },
  {
    id: 'G1C', codes: ['G1C'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 mime_banned_file - File attachment is not allowed because they can be used to exploit Winzip (G1C)',
    meaning: 'Messages with attachment file extensions linked to WinZip vulnerabilities are not allowed',
  },
  {
    id: 'G1D', codes: ['G1D'], kind: 'rejection', phase: 'data', smtp: 550, enhanced: '5.7.0',
    template: '5.7.0 mime_banned_file - CLSID file extensions are dangerous (G1D)',
    meaning: 'Messages with attachment file names containing Windows classIDs are not allowed',
  },

  // Replies of the bundle itself (not in the provider's table).
  {
    id: 'VIRUS-TEMP', source: 'bundle', codes: [], kind: 'deferral', phase: 'data', smtp: 451, enhanced: '4.3.0',
    template: '4.3.0 Virus scanner unavailable, try again later',
    meaning: 'clamd could not scan the message and [virus] on_error=defer',
  },
  {
    id: 'MX-TEMP', source: 'bundle', codes: [], kind: 'deferral', phase: 'rcpt', smtp: 450, enhanced: '4.4.3',
    template: "4.4.3 {EMAIL}: Sender domain's MX lookup failed, try again later",
    meaning: 'the MAIL FROM domain\'s MX lookup failed temporarily while support-codes.mx_blocklist is in use and [sender_mx] dns_error=defer',
  },
  {
    id: 'SCAN-TEMP', source: 'bundle', codes: [], kind: 'deferral', phase: 'data', smtp: 451, enhanced: '4.3.0',
    template: '4.3.0 Message could not be scanned, try again later',
    meaning: 'the message reached a scan limit named in [scan] defer (the scan timed out, or the memory for messages in scan was used up)',
  },
]

/** The provider's table: every row but the bundle's own replies. */
export const PROVIDER_ROWS: readonly CatalogEntry[] = CATALOG.filter((e) => e.source !== 'bundle')

/** Catalog ids a check may return. */
export type CodeId =
  | 'G2' | 'G1F' | 'G6' | 'G30' | 'G28' | 'G16' | 'G1E' | 'G1A' | 'G29' | 'G34'
  | 'G8/G9' | 'G7' | 'GE' | 'G14' | 'G31' | 'G32' | 'R2' | 'G3/G4/G5' | 'G15'
  | 'G18' | 'G19' | 'G1B' | 'G1C' | 'G1D' | 'VIRUS-TEMP' | 'SCAN-TEMP' | 'MX-TEMP'

/**
 * The entry for an id, preferring the row of the given phase. G8/G9 and G1A
 * each have two rows with the same reply; the phase only picks which row the
 * logs and docs point at.
 */
export function entryFor(id: CodeId, phase?: Phase): CatalogEntry {
  const rows = CATALOG.filter((e) => e.id === id)
  const row = rows.find((e) => e.phase === phase) ?? rows[0]
  if (!row) throw new Error(`unknown catalog id ${id}`)
  return row
}
