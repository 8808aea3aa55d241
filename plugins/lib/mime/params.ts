// Structured header values: Content-Type and Content-Disposition, a value
// then "; name=value" parameters (RFC 2045 5.1, RFC 2183 2), with RFC 822
// comments in parentheses anywhere (RFC 5322 3.2.2), quoted strings with
// backslash escapes (RFC 5322 3.2.4), and RFC 2231 extended parameters:
// charsets, percent-encoding and continuations. Parsing is one left-to-right
// pass over the value (no backtracking regex), so a huge header costs its
// length.
//
// The input is a byte string (latin1: one character per byte), so that raw
// 8-bit values and RFC 2231 segments keep their exact bytes; values are
// turned into text at the end.
import { bytesToText, decodeCharset } from './charset'
import { decodeEncodedWords } from './encoded-words'
import { hexValue } from './hex'
import { trimSpace } from './lines'

export interface StructuredValue {
  /** The value before the first ";", lower-case, comments and white space removed. */
  value: string
  /** One value per parameter name: the RFC 2231 form when present, else the first plain one. */
  params: Record<string, string>
  /** Every value given for every name, in order (plain forms, then RFC 2231 forms). */
  variants: Array<{ name: string; value: string }>
}

// Parameters whose value is used as sent: the boundary is matched byte for byte against the body.
const RAW_PARAMS = new Set(['boundary'])
// RFC 2231 3: continuation numbers; more segments than this are ignored.
const MAX_SEGMENT = 999

interface RawParam {
  name: string
  value: string
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n'
}

/** Index just after the comment that starts at i (nested, with quoted pairs), or the end of text. */
function skipComment(text: string, i: number): number {
  let depth = 0
  for (; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i + 1
  }
  return text.length
}

/** Reads up to the first of `stops` outside comments, comments left out; untrimmed. */
function readUntil(text: string, i: number, stops: string): { value: string; next: number } {
  const pieces: string[] = []
  let from = i
  while (i < text.length && !stops.includes(text[i])) {
    if (text[i] === '(') {
      pieces.push(text.slice(from, i))
      i = skipComment(text, i)
      from = i
    } else {
      i++
    }
  }
  pieces.push(text.slice(from, i))
  return { value: pieces.join(''), next: i }
}

/** Reads up to the next ";" outside comments; white space kept inside, trimmed at the ends. */
function readUnquoted(text: string, i: number): { value: string; next: number } {
  const read = readUntil(text, i, ';')
  return { value: trimSpace(read.value), next: read.next }
}

/**
 * A quoted string from the opening quote at i. "\x" is x for a quote or a
 * backslash; before any other character the backslash is kept, because
 * mailers send Windows paths unescaped ("C:\x\evil.exe") and clients keep
 * them. A missing closing quote ends the value at the end of the header.
 */
function readQuoted(text: string, i: number): { value: string; next: number } {
  const pieces: string[] = []
  let from = ++i
  while (i < text.length && text[i] !== '"') {
    if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
      pieces.push(text.slice(from, i))
      from = i + 1
      i += 2
    } else {
      i++
    }
  }
  pieces.push(text.slice(from, i))
  return { value: pieces.join(''), next: i + 1 }
}

function skipSpaceAndComments(text: string, i: number): number {
  while (i < text.length) {
    if (isSpace(text[i])) i++
    else if (text[i] === '(') i = skipComment(text, i)
    else break
  }
  return i
}

function readParams(text: string, i: number): RawParam[] {
  const out: RawParam[] = []
  while (i < text.length) {
    // at a ";" or the start of junk before the next one
    i = skipSpaceAndComments(text, text[i] === ';' ? i + 1 : i)
    const head = readUntil(text, i, '=;')
    i = head.next
    // a parameter without "=" has nothing to keep
    if (i >= text.length || text[i] === ';') continue
    const name = head.value.replace(/[ \t\r\n]+/g, '').toLowerCase()
    i = skipSpaceAndComments(text, i + 1)
    let read: { value: string; next: number }
    if (text[i] === '"') {
      read = readQuoted(text, i)
      // anything after the closing quote up to the next ";" is not part of the value
      i = read.next
      while (i < text.length && text[i] !== ';') i = text[i] === '(' ? skipComment(text, i) : i + 1
    } else {
      read = readUnquoted(text, i)
      i = read.next
    }
    if (name) out.push({ name, value: read.value })
  }
  return out
}

/** RFC 2231 4: %XX is a byte; a "%" not followed by two hex digits stays as it is. */
function percentDecode(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length)
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x25 && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      out[o++] = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2))
      i += 2
    } else {
      out[o++] = c & 0xff
    }
  }
  return out.subarray(0, o)
}

interface Segment {
  index: number
  extended: boolean
  value: string
}

/**
 * Joins RFC 2231 segments in number order (3): extended segments ("*") are
 * percent-encoded bytes in the charset named by the first one (4, "charset'
 * language'"), plain segments are taken as they are (4.1 allows mixing).
 * Missing numbers are skipped rather than ending the value: a name is better
 * seen whole than cut where a client might not cut it.
 */
function joinSegments(segments: Segment[]): string {
  segments.sort((a, b) => a.index - b.index)
  let charset: string | undefined
  const out: string[] = []
  let bytes: Buffer[] = []
  const flush = (): void => {
    if (bytes.length) out.push(decodeCharset(Buffer.concat(bytes), charset))
    bytes = []
  }
  let lastIndex = -1
  for (const [n, seg] of segments.entries()) {
    if (seg.index === lastIndex) continue // a repeated number: the first one counts
    lastIndex = seg.index
    if (!seg.extended) {
      flush()
      out.push(bytesToText(Buffer.from(seg.value, 'latin1')))
      continue
    }
    let value = seg.value
    if (n === 0) {
      const first = value.indexOf("'")
      const second = first >= 0 ? value.indexOf("'", first + 1) : -1
      if (second >= 0) {
        charset = value.slice(0, first) || undefined
        value = value.slice(second + 1)
      }
    }
    bytes.push(percentDecode(value))
  }
  flush()
  return out.join('')
}

const SEGMENT_NAME = /^(.+)\*(\d{1,4})$/

/** Parses a Content-Type or Content-Disposition value given as a byte string. */
export function parseStructuredValue(text: string): StructuredValue {
  const head = readUnquoted(text, 0)
  const i = head.next
  const value = head.value.replace(/[ \t\r\n]+/g, '').toLowerCase()

  // Null-prototype records: parameter names come from the sender ("__proto__").
  const params: Record<string, string> = Object.create(null) as Record<string, string>
  const variants: Array<{ name: string; value: string }> = []
  const extended = new Map<string, Segment[]>()
  for (const p of readParams(text, i)) {
    let name = p.name
    const isExtended = name.endsWith('*')
    if (isExtended) name = name.slice(0, -1)
    const seg = SEGMENT_NAME.exec(name)
    if (seg || isExtended) {
      const base = seg ? seg[1] : name
      const index = seg ? Number(seg[2]) : 0
      if (index > MAX_SEGMENT) continue
      let list = extended.get(base)
      if (!list) extended.set(base, (list = []))
      list.push({ index, extended: isExtended, value: p.value })
      continue
    }
    const decoded = RAW_PARAMS.has(name) ? p.value : decodeEncodedWords(bytesToText(Buffer.from(p.value, 'latin1')))
    variants.push({ name, value: decoded })
    if (!(name in params)) params[name] = decoded
  }
  for (const [name, segments] of extended) {
    const joined = joinSegments(segments)
    const decoded = RAW_PARAMS.has(name) ? joined : decodeEncodedWords(joined)
    variants.push({ name, value: decoded })
    params[name] = decoded
  }
  return { value, params, variants }
}
