// Decoding one part's body on demand: only the part a check asks for, and
// never more than the caller's byte limit.
import { cleanFilename } from './filenames'
import { decodeBase64, decodeQuotedPrintable } from './decode'
import type { MimePart, Ticker } from './types'
import { decodeUuencoded, findUuencodeBegins, UuBegin, uuencodedHead } from './uuencode'

// Non-standard Content-Transfer-Encoding values for a body that is one uuencoded file.
const UUENCODE_ENCODINGS = new Set(['x-uuencode', 'uuencode', 'x-uue', 'uue'])
// uuencodedFiles returns at most this many files of one part.
const MAX_UU_FILES = 1000

export function isUuencodeEncoding(encoding: string): boolean {
  return UUENCODE_ENCODINGS.has(encoding)
}

/** Parts whose body may hold uuencoded files: text/plain (the default type included) and uuencoded bodies. */
export function mayHoldUuencode(part: MimePart): boolean {
  return !part.isMultipart && (part.contentType === 'text/plain' || isUuencodeEncoding(part.encoding))
}

/** The body decoded by its transfer encoding alone (base64, quoted-printable, or as sent). */
function transferDecoded(raw: Buffer, part: MimePart, maxBytes: number, alloc?: (size: number) => Buffer): Buffer | undefined {
  const { bodyStart: start, bodyEnd: end } = part
  if (part.encoding === 'base64') return decodeBase64(raw, start, end, maxBytes, alloc)
  if (part.encoding === 'quoted-printable') return decodeQuotedPrintable(raw, start, end, maxBytes)
  // 7bit, 8bit, binary (RFC 2045 6.2) and unknown encodings: the bytes as sent, shared with raw, not copied
  return end - start <= maxBytes ? raw.subarray(start, end) : undefined
}

/**
 * The decoded body of one part: base64, quoted-printable, 7bit/8bit/binary
 * (a view into raw, not a copy), or the file of a uuencoded body
 * (x-uuencode). At most maxBytes; undefined when larger, without building the
 * larger buffer. `alloc`, when given, makes the buffer a base64 body is
 * decoded into (see decodeBase64).
 */
export function partBody(raw: Buffer, part: MimePart, maxBytes: number, alloc?: (size: number) => Buffer): Buffer | undefined {
  if (isUuencodeEncoding(part.encoding)) {
    const [first] = findUuencodeBegins(raw, part.bodyStart, part.bodyEnd, 1)
    if (first) return decodeUuencoded(raw, first, maxBytes)
  }
  return transferDecoded(raw, part, maxBytes, alloc)
}

/** The text that may hold begin lines: the raw body for a uuencoded body, else the transfer-decoded text/plain body. */
function uuSource(raw: Buffer, part: MimePart): { buf: Buffer; start: number; end: number } | undefined {
  if (!mayHoldUuencode(part)) return undefined
  if (isUuencodeEncoding(part.encoding)) return { buf: raw, start: part.bodyStart, end: part.bodyEnd }
  // decoded text is never longer than the encoded body
  const text = transferDecoded(raw, part, part.bodyEnd - part.bodyStart)
  return text && { buf: text, start: 0, end: text.length }
}

/** The begin lines of the part's uuencoded files, at most limit. */
export function uuencodeBegins(raw: Buffer, part: MimePart, limit: number, deadline?: Ticker): UuBegin[] {
  const source = uuSource(raw, part)
  return source ? findUuencodeBegins(source.buf, source.start, source.end, limit, deadline) : []
}

export interface UuFile {
  /** Cleaned. */
  name: string
  /** Undefined when longer than maxBytes, or than what was left of the budget. */
  data: Buffer | undefined
  /** Set when data is undefined: the file's first bytes, to tell whether it is an archive. */
  head?: Buffer
}

/**
 * The uuencoded files in a text/plain part (or a uuencoded body): cleaned
 * name, and the data when at most maxBytes and within budget.bytes (which it
 * is taken from: the decoded bytes of one message, all parts together). At
 * most 1000 files. Each file's data ends at the next begin line, so the
 * whole costs one pass over the part.
 */
export function uuencodedFiles(raw: Buffer, part: MimePart, maxBytes: number, budget?: { bytes: number }, deadline?: Ticker): UuFile[] {
  const source = uuSource(raw, part)
  if (!source) return []
  return findUuencodeBegins(source.buf, source.start, source.end, MAX_UU_FILES, deadline).map((begin) => {
    const most = Math.min(maxBytes, budget ? Math.max(0, budget.bytes) : maxBytes)
    const data = decodeUuencoded(source.buf, begin, most, deadline)
    if (budget && data) budget.bytes -= data.length
    const file: UuFile = { name: cleanFilename(begin.name), data }
    if (!data) file.head = uuencodedHead(source.buf, begin, HEAD_BYTES)
    return file
  })
}

// Enough for any archive signature (content/zip/archive.ts isZip reads 8).
const HEAD_BYTES = 16
