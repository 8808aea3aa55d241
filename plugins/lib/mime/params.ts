// Structured header values: Content-Type and Content-Disposition, a value
// then "; name=value" parameters (RFC 2045 5.1, RFC 2183 2), with RFC 822
// comments in parentheses anywhere (RFC 5322 3.2.2), quoted strings with
// backslash escapes (RFC 5322 3.2.4), and RFC 2231 extended parameters:
// charsets, percent-encoding and continuations. Parsing is one left-to-right
// pass over the value (no backtracking regex), so a huge header costs its
// length. File names are also read the other ways clients read them
// (`readings`): see name-readings.ts; those cost a small multiple of the
// length, never more.
//
// The input is a byte string (latin1: one character per byte), so that raw
// 8-bit values and RFC 2231 segments keep their exact bytes; values are
// turned into text at the end.
import { bytesToText, decodeCharset, hasOtherByteOrder } from './charset'
import { decodeEncodedWordReadings, decodeEncodedWords } from './encoded-words'
import { hexValue } from './hex'
import { trimSpace } from './lines'
import { NAME_PARAMS, skipComment, valueReadings } from './name-readings'

export interface StructuredValue {
  /** The value before the first ";", lower-case, comments and white space removed. */
  value: string
  /** One value per parameter name: the RFC 2231 form when present, else the first plain one. */
  params: Record<string, string>
  /** Every value given for every name, in order (plain forms, then RFC 2231 forms). */
  variants: Array<{ name: string; value: string }>
  /**
   * The other readings of name= and filename= that some client makes: the
   * lenient ones of name-readings.ts, RFC 2231 sections in the order sent
   * and the other orders, UTF-16 in the other byte order, the parameters
   * after a quoted string never closed. None repeated, none in variants;
   * absent when there is none.
   */
  readings?: Array<{ name: string; value: string }>
}

// Parameters whose value is used as sent: the boundary is matched byte for byte against the body.
const RAW_PARAMS = new Set(['boundary'])
// RFC 2231 3: continuation numbers; more segments than this are ignored.
const MAX_SEGMENT = 999

interface RawParam {
  name: string
  value: string
  /** Where the parameter starts: its ";" (or where the parameters start). */
  at: number
  /** Where its value starts (an opening quote for a quoted string) and where the standard reading stopped. */
  start: number
  end: number
  /** Where the pieces without "=" right after it end; end when none. */
  junkEnd: number
  form: 'token' | 'quoted' | 'unclosed'
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n'
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
function readQuoted(text: string, i: number): { value: string; next: number; closed: boolean } {
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
  return { value: pieces.join(''), next: i + 1, closed: i < text.length }
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
  let last: RawParam | undefined
  while (i < text.length) {
    // at a ";" or the start of junk before the next one
    const at = i
    i = skipSpaceAndComments(text, text[i] === ';' ? i + 1 : i)
    const head = readUntil(text, i, '=;')
    i = head.next
    // a parameter without "=" has nothing to keep (a lenient reading joins it to the value before)
    if (i >= text.length || text[i] === ';') {
      if (last && trimSpace(head.value)) last.junkEnd = i
      continue
    }
    const name = head.value.replace(/[ \t\r\n]+/g, '').toLowerCase()
    i = skipSpaceAndComments(text, i + 1)
    const start = i
    let value: string
    let form: RawParam['form'] = 'token'
    if (text[i] === '"') {
      const read = readQuoted(text, i)
      value = read.value
      form = read.closed ? 'quoted' : 'unclosed'
      // anything after the closing quote up to the next ";" is not part of the value
      i = read.next
      while (i < text.length && text[i] !== ';') i = text[i] === '(' ? skipComment(text, i) : i + 1
    } else {
      const read = readUnquoted(text, i)
      value = read.value
      i = read.next
    }
    last = name ? { name, value, at, start, end: Math.min(i, text.length), junkEnd: Math.min(i, text.length), form } : undefined
    if (last) out.push(last)
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

/** RFC 2231 4: "charset'language'" before the first extended segment's value. */
function splitCharset(value: string): { charset: string | undefined; rest: string } | undefined {
  const first = value.indexOf("'")
  const second = first >= 0 ? value.indexOf("'", first + 1) : -1
  return second >= 0 ? { charset: value.slice(0, first) || undefined, rest: value.slice(second + 1) } : undefined
}

/**
 * Joins RFC 2231 segments in the order given (3): extended segments ("*")
 * are percent-encoded bytes in the charset named by `head` (4, "charset'
 * language'"), plain segments are taken as they are (4.1 allows mixing).
 * otherOrder: UTF-16 without a byte-order mark read big-endian; doubt: there
 * was such text.
 */
function joinSegments(list: Segment[], head: Segment, otherOrder: boolean): { text: string; doubt: boolean } {
  const charset = head.extended ? splitCharset(head.value)?.charset : undefined
  const out: string[] = []
  let doubt = false
  let bytes: Buffer[] = []
  const flush = (): void => {
    if (!bytes.length) return
    const joined = Buffer.concat(bytes)
    if (hasOtherByteOrder(joined, charset)) doubt = true
    out.push(decodeCharset(joined, charset, otherOrder))
    bytes = []
  }
  for (const seg of list) {
    // the head's "charset'language'", and that of a repeated first segment read with it
    const value = seg.extended && seg.index === head.index ? (splitCharset(seg.value)?.rest ?? seg.value) : seg.value
    if (!seg.extended) {
      flush()
      out.push(bytesToText(Buffer.from(value, 'latin1')))
      continue
    }
    bytes.push(percentDecode(value))
  }
  flush()
  return { text: out.join(''), doubt }
}

/**
 * The orders in which clients join one parameter's RFC 2231 segments, the
 * standard one first: by number, the first of a repeated number counting and
 * missing numbers skipped (a name is better seen whole than cut where a
 * client might not cut it); then, where they differ, by number with the last
 * of a repeated number, by number up to the first missing one (counted from
 * 0), and as sent. Each with the segment that names the charset.
 */
function segmentOrders(segments: Segment[]): Array<{ list: Segment[]; head: Segment }> {
  const sorted = [...segments].sort((a, b) => a.index - b.index)
  const first: Segment[] = []
  const last: Segment[] = []
  for (const seg of sorted) {
    if (first.length && first[first.length - 1].index === seg.index) {
      last[last.length - 1] = seg
    } else {
      first.push(seg)
      last.push(seg)
    }
  }
  const orders = [{ list: first, head: first[0] }]
  if (last.some((seg, k) => seg !== first[k])) orders.push({ list: last, head: last[0] })
  let n = 0
  while (n < first.length && first[n].index === n) n++
  if (n > 0 && n < first.length) orders.push({ list: first.slice(0, n), head: first[0] })
  if (segments.length !== first.length || segments.some((seg, k) => seg !== first[k])) orders.push({ list: segments, head: first[0] })
  return orders
}

const SEGMENT_NAME = /^(.+)\*(\d{1,4})$/

/** Whether a parameter is name= or filename=, plain or an RFC 2231 form ("filename*0*"). */
function isNameParam(name: string): boolean {
  if (NAME_PARAMS.has(name)) return true
  const star = name.indexOf('*')
  return star > 0 && NAME_PARAMS.has(name.slice(0, star))
}

interface Parsed {
  params: Record<string, string>
  variants: Array<{ name: string; value: string }>
  /** Candidate readings, repeats and standard values included: sorted out at the end. */
  readings: Array<{ name: string; value: string }>
}

const NOT_ASCII = /[\x80-\uffff]/

/** A byte string as text (bytesToText); ASCII as it is, without a copy. */
function toText(raw: string): string {
  return NOT_ASCII.test(raw) ? bytesToText(Buffer.from(raw, 'latin1')) : raw
}

/** Every text a byte-string reading gives: raw 8-bit text, then encoded words in each byte order. */
function addRaw(into: Parsed, name: string, raw: string): void {
  for (const value of decodeEncodedWordReadings(toText(raw))) into.readings.push({ name, value })
}

/**
 * Reads the parameters from i into `into`. As a second reading (`again`),
 * every value goes to the readings and a quoted string never closed is not
 * read again. Returns where the first name parameter starts, if any.
 */
function readInto(text: string, i: number, into: Parsed, again: boolean): number | undefined {
  const raw = readParams(text, i)
  // where the readings of each name parameter must stop: at the next one
  const limits: number[] = new Array<number>(raw.length)
  let next = text.length
  for (let k = raw.length - 1; k >= 0; k--) {
    limits[k] = next
    if (isNameParam(raw[k].name)) next = raw[k].at
  }
  const firstNameAt = next < text.length ? next : undefined

  const extended = new Map<string, Segment[]>()
  for (const [k, p] of raw.entries()) {
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
    const isName = NAME_PARAMS.has(name)
    // a name's value in each byte order of its encoded words, the standard one first
    const texts = RAW_PARAMS.has(name) ? [p.value] : isName ? decodeEncodedWordReadings(toText(p.value)) : [decodeEncodedWords(toText(p.value))]
    if (!again) {
      into.variants.push({ name, value: texts[0] })
      if (!(name in into.params)) into.params[name] = texts[0]
    }
    if (isName) {
      for (const value of again ? texts : texts.slice(1)) into.readings.push({ name, value })
      for (const reading of valueReadings(text, { start: p.start, end: p.end, junkEnd: p.junkEnd, limit: limits[k], form: p.form })) {
        if (reading !== p.value) addRaw(into, name, reading)
      }
    }
    if (p.form === 'unclosed' && !again) {
      // A client that gives up on the quote ends the value at the next ";"
      // and reads the parameters after it, which the quoted string hid.
      const cut = readUnquoted(text, p.start + 1)
      if (isName) addRaw(into, name, cut.value)
      const hiddenName = readInto(text, cut.next, into, true)
      if (isName && hiddenName !== undefined) addRaw(into, name, trimSpace(text.slice(p.start + 1, hiddenName)))
    }
  }
  for (const [name, segments] of extended) {
    const orders = segmentOrders(segments)
    const isName = NAME_PARAMS.has(name)
    for (const [n, order] of orders.entries()) {
      if (n > 0 && !isName) break
      const joined = joinSegments(order.list, order.head, false)
      const texts = joined.doubt && isName ? [joined.text, joinSegments(order.list, order.head, true).text] : [joined.text]
      for (const [t, text] of texts.entries()) {
        const decoded = RAW_PARAMS.has(name) ? [text] : isName ? decodeEncodedWordReadings(text) : [decodeEncodedWords(text)]
        const standard = n === 0 && t === 0 && !again
        if (standard) {
          into.variants.push({ name, value: decoded[0] })
          into.params[name] = decoded[0]
        }
        if (isName) for (const value of standard ? decoded.slice(1) : decoded) into.readings.push({ name, value })
      }
    }
  }
  return firstNameAt
}

/** Parses a Content-Type or Content-Disposition value given as a byte string. */
export function parseStructuredValue(text: string): StructuredValue {
  const head = readUnquoted(text, 0)
  const value = head.value.replace(/[ \t\r\n]+/g, '').toLowerCase()
  // Null-prototype records: parameter names come from the sender ("__proto__").
  const into: Parsed = { params: Object.create(null) as Record<string, string>, variants: [], readings: [] }
  readInto(text, head.next, into, false)
  // readings are only of name parameters: one set of the values seen per name
  const seen = new Map<string, Set<string>>()
  for (const name of NAME_PARAMS) seen.set(name, new Set())
  for (const v of into.variants) seen.get(v.name)?.add(v.value)
  const readings: Array<{ name: string; value: string }> = []
  for (const r of into.readings) {
    const values = seen.get(r.name) as Set<string>
    if (values.has(r.value)) continue
    values.add(r.value)
    readings.push(r)
  }
  return readings.length ? { value, params: into.params, variants: into.variants, readings } : { value, params: into.params, variants: into.variants }
}
