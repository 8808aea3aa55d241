// The header section as mailauth's DKIM verifier reads it, without running
// the verifier: for a message with no signature to check, DMARC needs only
// the From fields, and dkimVerify costs far more than reading them (a stream,
// ARC parsing, result rows). The same code reads them, so the answer is the
// same: mailauth's own parseHeaders and the addressparser it uses, the end of
// the header section found as its message parser finds it.
import { createRequire } from 'node:module'

export interface ParsedHeader {
  key: string | null
  line: Buffer
}
interface AddressNode {
  address?: string
  group?: AddressNode[]
}

// Loaded through mailauth's own resolution, so these are the very modules its verifier uses.
const fromMailauth = createRequire(require.resolve('mailauth'))
const { parseHeaders } = fromMailauth('mailauth/lib/tools') as { parseHeaders(buf: Buffer): { parsed: ParsedHeader[] } }
const addressparser = fromMailauth('nodemailer/lib/addressparser') as (text: string) => AddressNode[]

const LF = 0x0a
const CR = 0x0d

/**
 * Where the header section ends (after the LF of its empty line), as
 * mailauth's message parser decides it once bare LFs are made CRLF: the
 * first LF that starts the message, follows another LF, or follows a CR
 * that follows one. The whole message when there is none.
 */
export function headerEnd(raw: Buffer): number {
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) {
    if (i === 0 || (i === 1 && raw[0] === CR) || raw[i - 1] === LF || (raw[i - 1] === CR && i >= 2 && raw[i - 2] === LF)) return i + 1
  }
  return raw.length
}

export interface HeaderFacts {
  /** Lower-case field names, in order. */
  keys: string[]
  /** The fields as mailauth's parseHeaders gives them (each field's lines joined with CRLF). */
  fields: ParsedHeader[]
  /** Where the header section ends in the message (see headerEnd). */
  end: number
  /** The From addresses, groups expanded (mailauth's headerFrom). */
  headerFrom: string[]
  /** How many From fields (mailauth's fromFields). */
  fromFields: number
}

/**
 * Reads the header section only (up to headerEnd): parseHeaders is quadratic
 * in folded lines, so this relies on the data plugin never authenticating a
 * message whose header section is over [scan] max_header_bytes or
 * max_header_lines (1000 lines: a few ms).
 */
export function readHeaders(raw: Buffer): HeaderFacts {
  const end = headerEnd(raw)
  const parsed = parseHeaders(raw.subarray(0, end)).parsed
  const headerFrom: string[] = []
  let fromFields = 0
  for (const h of parsed) {
    if (h.key !== 'from') continue
    fromFields++
    // as DkimVerifier.messageHeaders reads a From field
    let value = h.line.toString()
    const colon = value.indexOf(':')
    if (colon >= 0) value = value.substring(colon + 1)
    for (const addr of addressparser(value.trim())) {
      for (const mailbox of ([] as AddressNode[]).concat(addr?.group ?? addr ?? [])) {
        if (mailbox?.address) headerFrom.push(mailbox.address)
      }
    }
  }
  return { keys: parsed.map((h) => h.key ?? ''), fields: parsed, end, headerFrom, fromFields }
}

/**
 * True when dkimVerify could report anything but "no signature": a
 * DKIM-Signature field, or any ARC field (its newest ARC-Message-Signature
 * is verified like one).
 */
export function maySign(keys: readonly string[]): boolean {
  return keys.some((k) => k === 'dkim-signature' || k.startsWith('arc-'))
}
