// The header section as mailauth's DKIM verifier reads it, without running
// the verifier: for a message with no signature to check, DMARC needs only
// the From fields, and dkimVerify costs far more than reading them (a stream,
// ARC parsing, result rows). The same rules read them, so the answer is the
// same: mailauth's parseHeaders (redone in linear time, parseFields below)
// and the addressparser it uses, the end of the header section found as its
// message parser finds it.
import { createRequire } from 'node:module'

export interface ParsedHeader {
  key: string | null
  casedKey?: string
  line: Buffer
}
interface AddressNode {
  address?: string
  group?: AddressNode[]
}

// Loaded through mailauth's own resolution, so this is the very module its verifier uses.
const fromMailauth = createRequire(require.resolve('mailauth'))
const addressparser = fromMailauth('nodemailer/lib/addressparser') as (text: string) => AddressNode[]

// mailauth's (lib/tools.js) test for a line that opens a field: RFC 5322
// 3.6.8 ftext, then whitespace (a fold may sit before the colon), then ":".
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t\r\n]*:/
const NON_ASCII = /[\x80-\uffff]/

function trimWsp(text: string): string {
  let a = 0
  let b = text.length
  while (a < b && (text[a] === ' ' || text[a] === '\t')) a++
  while (b > a && (text[b - 1] === ' ' || text[b - 1] === '\t')) b--
  return text.slice(a, b)
}

/**
 * The fields of a header section exactly as mailauth's parseHeaders gives
 * them, in linear time: parseHeaders joins each continuation line onto the
 * field above with concat and splice, so its cost grows with the square of
 * the number of folded lines (25,000 lines: about 4 s). The same rules: a
 * line opens a field when it, with the line below it when that one is a
 * continuation, starts with a field name and a colon; the first line always
 * opens one; a field's lines are joined with CRLF.
 */
export function parseFields(buf: Buffer): ParsedHeader[] {
  return splitFields(buf).fields
}

function splitFields(buf: Buffer): { fields: ParsedHeader[]; lines: number } {
  const text = buf.toString('binary')
  let end = text.length
  while (end > 0 && (text[end - 1] === '\r' || text[end - 1] === '\n')) end--
  const lines = text.slice(0, end).split(/\r?\n/)
  if (lines.length === 1 && !lines[0]) return { fields: [], lines: 0 }
  const groups: string[][] = []
  // The continuation lines below the current line, the lowest first.
  let below: string[] = []
  for (let i = lines.length - 1; i >= 0; i--) {
    const next = below.length ? below[below.length - 1] : undefined
    if (i === 0 || FIELD_START.test(next === undefined ? lines[i] : `${lines[i]}\r\n${next}`)) {
      groups.push([lines[i], ...below.reverse()])
      below = []
    } else {
      below.push(lines[i])
    }
  }
  const fields = groups.reverse().map((group): ParsedHeader => {
    const row = group.join('\r\n')
    const colon = row.indexOf(':')
    const name = colon < 0 ? row : row.slice(0, colon)
    if (!name) return { key: null, casedKey: undefined, line: Buffer.from(row, 'binary') }
    // A fold between the name and the colon is not part of the name.
    const casedKey = trimWsp(name.includes('\n') ? name.replace(/\r?\n/g, '') : name)
    const key = NON_ASCII.test(casedKey) ? casedKey.replace(/[A-Z]/g, (c) => c.toLowerCase()) : casedKey.toLowerCase()
    return { key, casedKey, line: Buffer.from(row, 'binary') }
  })
  return { fields, lines: lines.length }
}

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
  /** Lines of the header section. */
  lines: number
  /** The From addresses, groups expanded (mailauth's headerFrom). */
  headerFrom: string[]
  /** How many From fields (mailauth's fromFields). */
  fromFields: number
}

/** Reads the header section only (up to headerEnd), in linear time (see parseFields). */
export function readHeaders(raw: Buffer): HeaderFacts {
  const end = headerEnd(raw)
  const { fields: parsed, lines } = splitFields(raw.subarray(0, end))
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
  return { keys: parsed.map((h) => h.key ?? ''), fields: parsed, end, lines, headerFrom, fromFields }
}

/**
 * True when dkimVerify could report anything but "no signature": a
 * DKIM-Signature field, or any ARC field (its newest ARC-Message-Signature
 * is verified like one).
 */
export function maySign(keys: readonly string[]): boolean {
  return keys.some((k) => k === 'dkim-signature' || k.startsWith('arc-'))
}
