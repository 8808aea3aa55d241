// One pass over the raw message that finds every MIME part (RFC 2045, RFC
// 2046) and what the DATA checks need from it: types, parameters, file names
// and byte offsets. Bodies are not decoded, except text/plain bodies, which
// are searched for uuencoded file names. Haraka's own body parser would make
// a 200 KB message about four times dearer to accept (DESIGN.md, Speed).
//
// The walk is iterative: an explicit stack holds the open parts, innermost
// last, so that a message nested thousands of levels deep costs no
// recursion. The body is searched for "\n--" with Buffer.indexOf, and only
// those lines are compared with the boundaries of the open multiparts.
import { CLOSE_DELIMITER, matchDelimiter } from './boundaries'
import { uuencodeBegins, mayHoldUuencode } from './body'
import { collectFilenames } from './filenames'
import { readHeaderBlock } from './headers'
import { beforeLineBreak, contentEnd, DASH, LF, lineBreak, nextLine } from './lines'
import type { StructuredValue } from './params'
import { makePart, PartPlace } from './part-fields'
import type { MimePart, MimeProblem, MimeProblemKind, MimeScan, ScanLimits } from './types'

export type { MimePart, MimeProblem, MimeProblemKind, MimeScan, ScanLimits } from './types'
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

/** A part whose end is not known yet. */
interface Open {
  part: MimePart
  /** The boundary of a multipart still waiting for its close delimiter. */
  boundary?: Buffer
  children: number
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
  const reported = new Set<MimeProblemKind>()
  const problem = (kind: MimeProblemKind, detail: string): void => {
    if (reported.has(kind)) return
    reported.add(kind)
    problems.push({ kind, detail })
  }
  const headersOf = new Map<MimePart, Array<StructuredValue | undefined>>()

  const stack: Open[] = []
  let openBoundaries = 0

  // The open multipart whose delimiter the line is, innermost first. RFC 2046 5.1.2: outer delimiters must be recognized at any depth, so one ends every part inside it (an unterminated multipart, an attached message).
  const delimiterOf = (start: number, end: number): { index: number; close: boolean } | undefined => {
    for (let k = stack.length - 1; k >= 0; k--) {
      const boundary = stack[k].boundary
      if (!boundary) continue
      const m = matchDelimiter(raw, start, end, boundary)
      if (m) return { index: k, close: m === CLOSE_DELIMITER }
    }
    return undefined
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
      const i = raw.indexOf(NL_DASHES, from)
      if (i < 0) return undefined
      const d = check(i + 1)
      if (d) return d
      from = i + 1
    }
  }

  // Parts close innermost first; an outer part never ends before the parts it holds (an empty inner body starts at the delimiter line itself).
  const close = (open: Open, end: number): number => {
    open.part.bodyEnd = Math.max(open.part.bodyStart, end)
    if (open.boundary) {
      openBoundaries--
      problem('unterminated-multipart', `${where(open.part.path)}: the closing boundary never came`)
    }
    return open.part.bodyEnd
  }

  let pos = 0
  let pending: PartPlace | undefined = { path: '', depth: 0, defaultType: 'text/plain' }
  for (;;) {
    if (pending) {
      const at: PartPlace = pending
      pending = undefined
      if (parts.length >= maxParts) {
        // not recorded: its bytes stay inside the enclosing part, up to the next delimiter
        problem('too-many-parts', `more than ${maxParts} parts; ${where(at.path)} and after are not split`)
      } else {
        const block = readHeaderBlock(raw, pos, limits.maxHeaderBytes, keepWanted, openBoundaries ? isDelimiter : undefined)
        if (block.cut) problem('header-too-long', `${where(at.path)}: ${block.cut} is longer than ${limits.maxHeaderBytes} bytes, cut`)
        if (block.bad) problem('bad-header', `${where(at.path)}: ${block.bad}`)
        const { part, type, disposition } = makePart(raw, pos, block, at)
        parts.push(part)
        headersOf.set(part, [type, disposition])
        pos = block.bodyStart
        const open: Open = { part, children: 0 }
        stack.push(open)
        const container = part.contentType.startsWith('multipart/') || (MESSAGE_TYPES.has(part.contentType) && IDENTITY_ENCODINGS.has(part.encoding))
        const boundary = part.contentType.startsWith('multipart/') ? type?.params.boundary : undefined
        if (container && part.depth >= limits.maxDepth) {
          problem('too-deep', `${where(part.path)}: nested deeper than ${limits.maxDepth}, kept as one part`)
        } else if (part.contentType.startsWith('multipart/')) {
          if (boundary) {
            // RFC 2046 5.1.1: the boundary as sent, byte for byte
            open.boundary = Buffer.from(boundary, 'latin1')
            openBoundaries++
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
      frame.boundary = undefined
      openBoundaries--
    } else {
      frame.children++
      // RFC 2046 5.1.5: in a digest, parts are messages unless they say otherwise
      const defaultType = frame.part.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain'
      pending = { path: childPath(frame.part.path, frame.children), depth: frame.part.depth + 1, defaultType }
    }
  }
  while (stack.length) close(stack.pop() as Open, raw.length)

  let uuBudget = maxParts
  for (const part of parts) {
    let uuNames: string[] = []
    if (mayHoldUuencode(part)) {
      const begins = uuencodeBegins(raw, part, uuBudget + 1)
      if (begins.length > uuBudget) problem('too-many-parts', `more than ${maxParts} uuencoded files; the rest are not named`)
      uuNames = begins.slice(0, uuBudget).map((b) => b.name)
      uuBudget -= uuNames.length
    }
    part.filenames = collectFilenames(headersOf.get(part) ?? [], uuNames)
  }
  return { parts, problems }
}
