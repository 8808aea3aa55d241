// uuencoded files in text bodies: a "begin <mode> <name>" line, lines whose
// first character gives their length, then "end" (the POSIX uuencode format;
// no RFC covers it, but mail clients still turn such text into attachments).
// Also "begin-base64 <mode> <name>" ... "====", the base64 form of the same
// tool. The names count as file names of the part, so that a program cannot
// ride in a text body unnoticed.
//
// A file's data ends at the next begin line at the latest (dataEnd), so that
// hundreds of begin lines without "end" cost one pass over the body, not one
// pass per begin line.
import { decodeBase64 } from './decode'
import { contentEnd, lineBreak, nextLine, SP } from './lines'
import type { Ticker } from './types'

export interface UuBegin {
  /** The name as written on the begin line (not cleaned). */
  name: string
  /** The begin line itself. */
  lineStart: number
  /** The first data line. */
  dataStart: number
  /** Where the data ends at the latest: the next begin line, or the end of the text. */
  dataEnd: number
  form: 'uu' | 'base64'
}

const BEGIN = Buffer.from('begin')
// Characters of begin-base64 data read for a file's first bytes: room for line breaks and junk between them.
const HEAD_WINDOW = 4096
const BASE64_SUFFIX = Buffer.from('-base64')
const CR = 0x0d

function isOctal(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x37
}

/**
 * The name on a begin line buf[i, end) that starts with "begin":
 * /^begin(-base64)? +[0-7]{1,4} +(.*)$/ read by hand, in one pass (the
 * regex backtracks over long runs of spaces). Undefined when the line is not
 * one; as the regex, a CR inside the name means it is not.
 */
function readBeginLine(buf: Buffer, i: number, end: number): { name: string; base64: boolean } | undefined {
  let p = i + BEGIN.length
  const base64 = end - p >= BASE64_SUFFIX.length && buf.compare(BASE64_SUFFIX, 0, BASE64_SUFFIX.length, p, p + BASE64_SUFFIX.length) === 0
  if (base64) p += BASE64_SUFFIX.length
  if (buf[p] !== SP) return undefined
  while (p < end && buf[p] === SP) p++
  let digits = 0
  while (p < end && isOctal(buf[p])) {
    p++
    digits++
  }
  if (digits < 1 || digits > 4 || p >= end || buf[p] !== SP) return undefined
  while (p < end && buf[p] === SP) p++
  const cr = buf.indexOf(CR, p)
  if (cr >= 0 && cr < end) return undefined
  return { name: buf.toString('latin1', p, end), base64 }
}

/** The begin lines in buf[start, end), at most limit of them. */
export function findUuencodeBegins(buf: Buffer, start: number, end: number, limit: number, deadline?: Ticker): UuBegin[] {
  const found: UuBegin[] = []
  const view = buf.subarray(start, end)
  let at = 0
  while (found.length < limit) {
    deadline?.tick()
    const i = view.indexOf(BEGIN, at)
    if (i < 0) break
    at = i + BEGIN.length
    if (i > 0 && view[i - 1] !== 0x0a) continue
    const lf = lineBreak(view, i)
    const line = readBeginLine(view, i, contentEnd(view, i, lf))
    if (!line) continue
    const previous = found[found.length - 1]
    if (previous) previous.dataEnd = start + i
    found.push({ name: line.name, lineStart: start + i, dataStart: start + nextLine(view, lf), dataEnd: end, form: line.base64 ? 'base64' : 'uu' })
    at = nextLine(view, lf)
  }
  // the last one found may still be followed by a begin line past the limit
  const last = found[found.length - 1]
  if (last && found.length >= limit) last.dataEnd = nextBeginLine(buf, last.dataStart, end)
  return found
}

/** The start of the first begin line in buf[from, end), or end. */
function nextBeginLine(buf: Buffer, from: number, end: number): number {
  const view = buf.subarray(from, end)
  for (let at = 0; ;) {
    const i = view.indexOf(BEGIN, at)
    if (i < 0) return end
    if ((i === 0 || view[i - 1] === 0x0a) && readBeginLine(view, i, contentEnd(view, i, lineBreak(view, i)))) return from + i
    at = i + BEGIN.length
  }
}

/** Walks the data lines of a uuencoded file; writes into out when given, returns the byte count; stops past most bytes. */
function uuPass(buf: Buffer, start: number, end: number, out?: Buffer, most = Infinity, deadline?: Ticker): number {
  let o = 0
  let pos = start
  while (pos < end && o < most) {
    deadline?.tick()
    const lf = Math.min(lineBreak(buf, pos), end)
    const lineEnd = contentEnd(buf, pos, lf)
    if (lineEnd === pos) break // an empty line: the data is over
    const count = (buf[pos] - SP) & 0x3f
    // a zero-length line ("`" or " ") comes just before "end"; "end" itself reads as a count of 5, so test it first
    if (count === 0 || (lineEnd - pos === 3 && buf.toString('latin1', pos, lineEnd) === 'end')) break
    if (out) {
      const n = Math.min(count, out.length - o)
      let written = 0
      for (let i = pos + 1; written < n; i += 4) {
        // characters missing at the end of a short line read as zero
        const c0 = i < lineEnd ? (buf[i] - SP) & 0x3f : 0
        const c1 = i + 1 < lineEnd ? (buf[i + 1] - SP) & 0x3f : 0
        const c2 = i + 2 < lineEnd ? (buf[i + 2] - SP) & 0x3f : 0
        const c3 = i + 3 < lineEnd ? (buf[i + 3] - SP) & 0x3f : 0
        out[o + written++] = ((c0 << 2) | (c1 >> 4)) & 0xff
        if (written < n) out[o + written++] = ((c1 << 4) | (c2 >> 2)) & 0xff
        if (written < n) out[o + written++] = ((c2 << 6) | c3) & 0xff
      }
    }
    o += count
    pos = nextLine(buf, lf)
  }
  return o
}

/** Where begin-base64 data ends: its "====" line, or dataEnd. */
function base64Stop(buf: Buffer, begin: UuBegin): number {
  const view = buf.subarray(begin.dataStart, begin.dataEnd)
  for (let at = 0; ;) {
    const i = view.indexOf('====', at)
    if (i < 0) return begin.dataEnd
    if (i === 0 || view[i - 1] === 0x0a) return begin.dataStart + i
    at = i + 4
  }
}

/** The file that begins at begin.dataStart, up to begin.dataEnd; undefined when longer than maxBytes. */
export function decodeUuencoded(buf: Buffer, begin: UuBegin, maxBytes: number, deadline?: Ticker): Buffer | undefined {
  if (begin.form === 'base64') return decodeBase64(buf, begin.dataStart, base64Stop(buf, begin), maxBytes)
  const size = uuPass(buf, begin.dataStart, begin.dataEnd, undefined, maxBytes + 1, deadline)
  if (size > maxBytes) return undefined
  const out = Buffer.alloc(size)
  uuPass(buf, begin.dataStart, begin.dataEnd, out, Infinity, deadline)
  return out
}

/** The file's first bytes (at most n): enough to tell an archive, without decoding the rest. */
export function uuencodedHead(buf: Buffer, begin: UuBegin, n: number): Buffer {
  if (begin.form === 'base64') {
    // four characters make three bytes; line breaks and other characters between them are skipped
    const stop = Math.min(base64Stop(buf, begin), begin.dataStart + HEAD_WINDOW)
    const head = decodeBase64(buf, begin.dataStart, stop, Infinity) ?? Buffer.alloc(0)
    return head.subarray(0, n)
  }
  const out = Buffer.alloc(n)
  return out.subarray(0, Math.min(n, uuPass(buf, begin.dataStart, begin.dataEnd, out, n)))
}
