// uuencoded files in text bodies: a "begin <mode> <name>" line, lines whose
// first character gives their length, then "end" (the POSIX uuencode format;
// no RFC covers it, but mail clients still turn such text into attachments).
// Also "begin-base64 <mode> <name>" ... "====", the base64 form of the same
// tool. The names count as file names of the part, so that a program cannot
// ride in a text body unnoticed.
import { decodeBase64 } from './decode'
import { contentEnd, lineBreak, nextLine, SP } from './lines'

export interface UuBegin {
  /** The name as written on the begin line (not cleaned). */
  name: string
  /** The first data line. */
  dataStart: number
  form: 'uu' | 'base64'
}

const BEGIN = Buffer.from('begin')
const BEGIN_LINE = /^begin(-base64)? +[0-7]{1,4} +(.*)$/

/** The begin lines in buf[start, end), at most limit of them. */
export function findUuencodeBegins(buf: Buffer, start: number, end: number, limit: number): UuBegin[] {
  const found: UuBegin[] = []
  const view = buf.subarray(start, end)
  let at = 0
  while (found.length < limit) {
    const i = view.indexOf(BEGIN, at)
    if (i < 0) break
    at = i + BEGIN.length
    if (i > 0 && view[i - 1] !== 0x0a) continue
    const lf = lineBreak(view, i)
    const m = BEGIN_LINE.exec(view.toString('latin1', i, contentEnd(view, i, lf)))
    if (!m) continue
    found.push({ name: m[2], dataStart: start + nextLine(view, lf), form: m[1] ? 'base64' : 'uu' })
    at = nextLine(view, lf)
  }
  return found
}

/** Walks the data lines of a uuencoded file; writes into out when given, returns the byte count. */
function uuPass(buf: Buffer, start: number, end: number, out?: Buffer): number {
  let o = 0
  let pos = start
  while (pos < end) {
    const lf = Math.min(lineBreak(buf, pos), end)
    const lineEnd = contentEnd(buf, pos, lf)
    if (lineEnd === pos) break // an empty line: the data is over
    const count = (buf[pos] - SP) & 0x3f
    // a zero-length line ("`" or " ") comes just before "end"; "end" itself reads as a count of 5, so test it first
    if (count === 0 || (lineEnd - pos === 3 && buf.toString('latin1', pos, lineEnd) === 'end')) break
    if (out) {
      let written = 0
      for (let i = pos + 1; written < count; i += 4) {
        // characters missing at the end of a short line read as zero
        const c0 = i < lineEnd ? (buf[i] - SP) & 0x3f : 0
        const c1 = i + 1 < lineEnd ? (buf[i + 1] - SP) & 0x3f : 0
        const c2 = i + 2 < lineEnd ? (buf[i + 2] - SP) & 0x3f : 0
        const c3 = i + 3 < lineEnd ? (buf[i + 3] - SP) & 0x3f : 0
        out[o + written++] = ((c0 << 2) | (c1 >> 4)) & 0xff
        if (written < count) out[o + written++] = ((c1 << 4) | (c2 >> 2)) & 0xff
        if (written < count) out[o + written++] = ((c2 << 6) | c3) & 0xff
      }
    }
    o += count
    pos = nextLine(buf, lf)
  }
  return o
}

/** The file that begins at begin.dataStart, up to end; undefined when longer than maxBytes. */
export function decodeUuencoded(buf: Buffer, begin: UuBegin, end: number, maxBytes: number): Buffer | undefined {
  if (begin.form === 'base64') {
    // begin-base64 data runs to a "====" line
    const view = buf.subarray(begin.dataStart, end)
    let stop = end
    for (let at = 0; ; ) {
      const i = view.indexOf('====', at)
      if (i < 0) break
      if (i === 0 || view[i - 1] === 0x0a) {
        stop = begin.dataStart + i
        break
      }
      at = i + 4
    }
    return decodeBase64(buf, begin.dataStart, stop, maxBytes)
  }
  const size = uuPass(buf, begin.dataStart, end)
  if (size > maxBytes) return undefined
  const out = Buffer.alloc(size)
  uuPass(buf, begin.dataStart, end, out)
  return out
}
