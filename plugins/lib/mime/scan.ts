// One pass over the raw message that finds every MIME part (RFC 2045, RFC
// 2046) and what the DATA checks need from it: types, parameters, file names
// and byte offsets. Bodies are not decoded, except text/plain bodies, which
// are searched for uuencoded file names. Haraka's own body parser would make
// a 200 KB message about four times dearer to accept (DESIGN.md, Speed).
//
// The walk is iterative: an explicit stack holds the open parts, innermost
// last, so that a message nested thousands of levels deep costs no
// recursion. The body is searched for "\n--" with Buffer.indexOf, and only
// those lines are looked up among the boundaries of the open multiparts, by
// length and then in a map: a line costs its own length, however many
// multiparts are open.
//
// Multipart delimiter lines (RFC 2046 5.1.1): "--" boundary, then optional
// white space ("transport padding"), is a delimiter; "--" boundary "--" the
// close delimiter. The whole line must have this form, as Thunderbird's and
// Python's MIME parsers check it, rather than only start with "--" boundary
// as the RFC's note to implementors allows: a line "--abcdef" is then never
// taken for a delimiter of "abc", so a boundary may be a prefix of another
// (RFC 2046 5.1.2 asks nested multiparts for different boundaries, not for
// boundaries that are not prefixes of each other).
import { uuencodeBegins, mayHoldUuencode } from './body'
import { collectFilenames } from './filenames'
import { readHeaderBlock } from './headers'
import { beforeLineBreak, contentEnd, DASH, isWsp, LF, lineBreak, nextLine } from './lines'
import type { StructuredValue } from './params'
import { makePart, PartPlace } from './part-fields'
import type { LimitName, MimePart, MimeProblem, MimeProblemKind, MimeScan, ScanLimit, ScanLimits } from './types'

export type { LimitName, MimePart, MimeProblem, MimeProblemKind, MimeScan, ScanLimit, ScanLimits, Ticker } from './types'
export { topLevelHeaders } from './headers'
export { partBody, uuencodedFiles } from './body'
export { decodeUuencoded } from './uuencode'
export type { UuBegin } from './uuencode'

const WANTED = new Set(['content-type', 'content-disposition', 'content-transfer-encoding'])
const keepWanted = (name: string): boolean => WANTED.has(name)
const NL_DASHES = Buffer.from('\n--')
// message/rfc822 and message/global (RFC 6532 3.7) hold a whole message, scanned in place when not encoded.
const MESSAGE_TYPES = new Set(['message/rfc822', 'message/global'])
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary'])
// The problems that leave part of the message unread: limits a sender can reach.
const LIMIT_OF: Partial<Record<MimeProblemKind, LimitName>> = { 'too-many-parts': 'parts', 'too-deep': 'depth', 'header-too-long': 'header' }

/** A part whose end is not known yet. */
interface Open {
  part: MimePart
  /**
   * The boundary of a multipart still waiting for its close delimiter, as
   * sent less trailing white space (RFC 2046 5.1.1: a boundary does not end
   * in a space; a delimiter line may, as transport padding).
   */
  boundary?: string
  children: number
}

/** A boundary of one or more open multiparts. */
interface OpenBoundary {
  text: string
  bytes: Buffer
  /** Their places in the stack, innermost last. */
  indices: number[]
}

// Open boundaries of one length compared byte for byte at most; past that, looked up by text.
const COMPARE_AT_MOST = 4
// Signs of disagreement kept per message: one is enough to read it every way; a few tell the log why.
const MAX_SIGNS = 8
// Bytes after a close delimiter looked at for text that is not white space.
const EPILOGUE_PEEK = 256
// In a header section: a bare CR (a line break to some parsers, not to
// others), or a MIME field folded into the field before it.
const ODD_HEADER = /\r(?!\n)|\n[ \t]+content-(?:type|transfer-encoding|disposition)[ \t]*:/i
// A line that reads as a header field: a part that starts with an empty line has its fields in its body.
const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/

/** A "--" line that is no delimiter and not just dashes and spaces (a signature "-- ", a rule "-----"). */
function isStrayDashLine(raw: Buffer, start: number, end: number): boolean {
  for (let i = start + 2; i < end; i++) if (raw[i] !== DASH && !isWsp(raw[i]) && raw[i] !== 0x0d) return true
  return false
}

/**
 * Whether any byte in [start, end) is not white space or a line break; a
 * dash counts only when no multipart is left open (inside one, it may start
 * an outer delimiter, and a "--" line that is none is a sign of its own).
 */
function hasText(raw: Buffer, start: number, end: number, dashIsText: boolean): boolean {
  for (let i = start; i < end; i++) {
    const b = raw[i]
    if (b !== 0x0d && b !== LF && !isWsp(b)) return dashIsText || b !== DASH
  }
  return false
}

/** The length of the line's content without trailing spaces and tabs. */
function trimmedEnd(raw: Buffer, start: number, end: number): number {
  while (end > start && isWsp(raw[end - 1])) end--
  return end
}

function childPath(parent: string, n: number): string {
  return parent ? `${parent}.${n}` : String(n)
}

function where(path: string): string {
  return path ? `part ${path}` : 'message'
}

/**
 * Finds every part of raw (headers and body as received, CRLF or LF line
 * ends). Never throws on malformed input: what cannot be read as MIME is
 * reported in problems and left inside the part that holds it.
 */
export function scanMime(raw: Buffer, limits: ScanLimits): MimeScan {
  // the message itself is always recorded
  const maxParts = Math.max(1, limits.maxParts)
  const parts: MimePart[] = []
  const problems: MimeProblem[] = []
  const signs: string[] = []
  const sign = (text: string): void => {
    if (signs.length < MAX_SIGNS) signs.push(text)
  }
  let straySaid = false
  const reported = new Set<MimeProblemKind>()
  let limit: ScanLimit | undefined
  const problem = (kind: MimeProblemKind, detail: string): void => {
    const name = LIMIT_OF[kind]
    if (name) limit ??= { name, detail }
    if (reported.has(kind)) return
    reported.add(kind)
    problems.push({ kind, detail })
  }
  // Content-Type and Content-Disposition of parts[i], read for its file names once the walk is done
  const headersOf: Array<Array<StructuredValue | undefined>> = []

  const stack: Open[] = []
  let openBoundaries = 0
  // The open boundaries by length, each with its stack indices (innermost
  // last). A line is compared byte for byte with the few of its length, and
  // looked up by its text when there are more (a sender may open many of one
  // length), so that it costs its own length either way.
  const byLength = new Map<number, OpenBoundary[]>()
  const byText = new Map<string, OpenBoundary>()
  const openBoundary = (index: number, boundary: string): void => {
    stack[index].boundary = boundary
    openBoundaries++
    let entry = byText.get(boundary)
    if (!entry) {
      entry = { text: boundary, bytes: Buffer.from(boundary, 'latin1'), indices: [] }
      byText.set(boundary, entry)
      const same = byLength.get(boundary.length)
      if (same) same.push(entry)
      else byLength.set(boundary.length, [entry])
    }
    entry.indices.push(index)
  }
  // Always the innermost open one of its boundary: the last of its indices.
  const closeBoundary = (open: Open): void => {
    const boundary = open.boundary
    if (boundary === undefined) return
    open.boundary = undefined
    openBoundaries--
    const entry = byText.get(boundary) as OpenBoundary
    entry.indices.pop()
    if (entry.indices.length) return
    byText.delete(boundary)
    const same = byLength.get(boundary.length) as OpenBoundary[]
    same.splice(same.indexOf(entry), 1)
    if (!same.length) byLength.delete(boundary.length)
  }
  const innermost = (start: number, end: number): number => {
    const same = byLength.get(end - start)
    if (!same) return -1
    let entry: OpenBoundary | undefined
    if (same.length <= COMPARE_AT_MOST) entry = same.find((e) => raw.compare(e.bytes, 0, e.bytes.length, start, end) === 0)
    else entry = byText.get(raw.toString('latin1', start, end))
    return entry ? entry.indices[entry.indices.length - 1] : -1
  }

  // The open multipart whose delimiter the line is, innermost first. RFC 2046 5.1.2: outer delimiters must be recognized at any depth, so one ends every part inside it (an unterminated multipart, an attached message).
  // A line "--" boundary ("--")? (white space)* (RFC 2046 5.1.1): after the
  // "--", either the boundary, or the boundary and "--" (a boundary may end
  // in "--" itself, so both are looked up).
  const delimiterOf = (start: number, end: number): { index: number; close: boolean } | undefined => {
    if (end - start < 2 || raw[start] !== DASH || raw[start + 1] !== DASH) return undefined
    const tail = trimmedEnd(raw, start + 2, end)
    const open = innermost(start + 2, tail)
    let closing = -1
    if (tail - start >= 4 && raw[tail - 1] === DASH && raw[tail - 2] === DASH) closing = innermost(start + 2, trimmedEnd(raw, start + 2, tail - 2))
    if (open < 0 && closing < 0) return undefined
    return closing > open ? { index: closing, close: true } : { index: open, close: false }
  }
  const isDelimiter = (start: number, end: number): boolean => delimiterOf(start, end) !== undefined

  const nextDelimiter = (pos: number): { index: number; close: boolean; lineStart: number; next: number } | undefined => {
    const check = (lineStart: number): { index: number; close: boolean; lineStart: number; next: number } | undefined => {
      const lf = lineBreak(raw, lineStart)
      const d = delimiterOf(lineStart, contentEnd(raw, lineStart, lf))
      return d && { ...d, lineStart, next: nextLine(raw, lf) }
    }
    if (raw[pos] === DASH && (pos === 0 || raw[pos - 1] === LF)) {
      const d = check(pos)
      if (d) return d
    }
    for (let from = pos; ; ) {
      limits.deadline?.tick()
      const i = raw.indexOf(NL_DASHES, from)
      if (i < 0) return undefined
      const d = check(i + 1)
      if (d) return d
      if (!straySaid && isStrayDashLine(raw, i + 1, contentEnd(raw, i + 1, lineBreak(raw, i + 1)))) {
        straySaid = true
        sign(`a "--" line that is no delimiter at byte ${i + 1}`)
      }
      from = i + 1
    }
  }

  // Parts close innermost first; an outer part never ends before the parts it holds (an empty inner body starts at the delimiter line itself).
  const close = (open: Open, end: number): number => {
    open.part.bodyEnd = Math.max(open.part.bodyStart, end)
    if (open.part.isMultipart && open.children === 0) sign(`${where(open.part.path)}: a multipart with no parts`)
    if (open.boundary !== undefined) {
      closeBoundary(open)
      problem('unterminated-multipart', `${where(open.part.path)}: the closing boundary never came`)
    }
    return open.part.bodyEnd
  }

  let pos = 0
  let pending: PartPlace | undefined = { path: '', depth: 0, defaultType: 'text/plain' }
  for (;;) {
    limits.deadline?.tick()
    if (pending) {
      const at: PartPlace = pending
      pending = undefined
      if (parts.length >= maxParts) {
        // not recorded: its bytes stay inside the enclosing part, up to the next delimiter
        if (!reported.has('too-many-parts')) problem('too-many-parts', `more than ${maxParts} parts; ${where(at.path)} and after are not split`)
      } else {
        const block = readHeaderBlock(raw, pos, limits.maxHeaderBytes, keepWanted, openBoundaries ? isDelimiter : undefined, limits.maxHeaderBytes, limits.deadline)
        if (block.sectionCut) problem('header-too-long', `${where(at.path)}: the header section is longer than ${limits.maxHeaderBytes} bytes, cut at ${block.sectionCut}`)
        if (block.bad) problem('bad-header', `${where(at.path)}: ${block.bad}`)
        const { part, type, named, odd } = makePart(raw, pos, block, at)
        if (odd) sign(`${where(at.path)}: ${odd}`)
        if (block.bodyStart > pos && ODD_HEADER.test(raw.toString('latin1', pos, Math.min(block.bodyStart, pos + limits.maxHeaderBytes)))) {
          sign(`${where(at.path)}: a bare CR or a folded MIME field in the header`)
        }
        if (at.path && block.bodyStart - pos <= 2 && FIELD_LINE.test(raw.toString('latin1', block.bodyStart, Math.min(raw.length, block.bodyStart + 80)))) {
          sign(`${where(at.path)}: header fields after an empty line`)
        }
        parts.push(part)
        headersOf.push(named)
        pos = block.bodyStart
        const open: Open = { part, children: 0 }
        stack.push(open)
        const container = part.contentType.startsWith('multipart/') || (MESSAGE_TYPES.has(part.contentType) && IDENTITY_ENCODINGS.has(part.encoding))
        const boundary = part.contentType.startsWith('multipart/') ? type?.params.boundary : undefined
        if (container && part.depth >= limits.maxDepth) {
          problem('too-deep', `${where(part.path)}: nested deeper than ${limits.maxDepth}, kept as one part`)
        } else if (part.contentType.startsWith('multipart/')) {
          if (boundary) {
            // RFC 2046 5.1.1: the boundary as sent, byte for byte (a latin1 string is one character per byte)
            const bytes = Buffer.from(boundary, 'latin1')
            openBoundary(stack.length - 1, bytes.toString('latin1', 0, trimmedEnd(bytes, 0, bytes.length)))
            part.isMultipart = true
          } else {
            problem('no-boundary', `${where(part.path)}: ${part.contentType} without a boundary, kept as one part`)
          }
        } else if (container) {
          // the attached message starts right here, its header first
          open.children = 1
          pending = { path: childPath(part.path, 1), depth: part.depth + 1, defaultType: 'text/plain' }
          continue
        }
      }
    }
    const d = openBoundaries ? nextDelimiter(pos) : undefined
    if (!d) break
    // RFC 2046 5.1.1: the line break before a delimiter belongs to the delimiter, not to the part
    let end = beforeLineBreak(raw, d.lineStart, 0)
    while (stack.length - 1 > d.index) end = close(stack.pop() as Open, end)
    const frame = stack[d.index]
    pos = d.next
    if (d.close) {
      // what follows is the epilogue, up to the end of the enclosing part
      closeBoundary(frame)
      if (hasText(raw, pos, Math.min(raw.length, pos + EPILOGUE_PEEK), openBoundaries === 0)) sign(`${where(frame.part.path)}: text after the close delimiter`)
    } else {
      frame.children++
      // RFC 2046 5.1.5: in a digest, parts are messages unless they say otherwise
      const defaultType = frame.part.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain'
      // past the parts limit, once said, the part is not recorded and its path not needed
      const path = parts.length >= maxParts && reported.has('too-many-parts') ? '' : childPath(frame.part.path, frame.children)
      pending = { path, depth: frame.part.depth + 1, defaultType }
    }
  }
  while (stack.length) close(stack.pop() as Open, raw.length)

  let uuBudget = maxParts
  for (const [i, part] of parts.entries()) {
    limits.deadline?.tick()
    let uuNames: string[] = []
    if (mayHoldUuencode(part)) {
      // a text body sent encoded is decoded whole to be searched: one step of its size
      if (part.encoding === 'base64' || part.encoding === 'quoted-printable') limits.deadline?.check(part.bodyEnd - part.bodyStart)
      const begins = uuencodeBegins(raw, part, uuBudget + 1, limits.deadline)
      if (begins.length > uuBudget) problem('too-many-parts', `more than ${maxParts} uuencoded files; the rest are not named`)
      uuNames = begins.slice(0, uuBudget).map((b) => b.name)
      uuBudget -= uuNames.length
    }
    part.filenames = collectFilenames(headersOf[i], uuNames)
  }
  return limit ? { parts, problems, limit, signs } : { parts, problems, signs }
}
