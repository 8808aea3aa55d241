// Header sections (RFC 5322 2.2, 3.6): fields of "name: value", folded onto
// continuation lines that start with white space (2.2.3), ended by an empty
// line. Only the fields a caller asks for become strings; the others are
// stepped over line by line. A field longer than the limit is cut there, so a
// 1 MB header line costs one indexOf and one bounded copy; past the section's
// own limit no field is kept, and the lines are only stepped over to find
// where the body starts.
import { bytesToText } from './charset'
import { contentEnd, CR, isWsp, LF, lineBreak, nextLine, trimSpace } from './lines'
import type { Ticker } from './types'

export interface HeaderField {
  /** Lower-case field name. */
  name: string
  start: number
  /** Just after the colon. */
  valueStart: number
  /** End of the field's last line (before its line break), or where the field was cut. */
  end: number
}

export interface HeaderBlock {
  fields: HeaderField[]
  /** Where the body starts: after the empty line, at the line that ended the section, or at the end of the buffer. */
  bodyStart: number
  /** Name of the first field cut at the limit. */
  cut?: string
  /** Set when the section is longer than maxSectionBytes: the name of the field at the limit. */
  sectionCut?: string
  /** Why the section ended or a line was skipped, when the input was not RFC 5322 syntax. */
  bad?: string
}

const COLON = 0x3a
const PAST_LIMIT = '(a field past the limit)'

// RFC 5322 3.6.8: field names are printable US-ASCII but the colon.
function isFtext(b: number): boolean {
  return b >= 33 && b <= 126 && b !== COLON
}

/**
 * Reads the header section that starts at start. keep says which fields to
 * return (by lower-case name); stopAt, when given, is asked about every line
 * that starts with "--" and ends the section before a boundary line of an
 * enclosing multipart (a part with no empty line before the next delimiter).
 *
 * A line that is not a field (no colon, or a name with spaces or 8-bit
 * bytes) ends the section and starts the body, as RFC 5322 parsers in mail
 * clients do (a missing empty line); a continuation line before any field is
 * skipped. Both are reported in `bad`.
 *
 * No field is kept past start + maxSectionBytes: a field that runs over it
 * ends there, and `sectionCut` names it.
 */
export function readHeaderBlock(
  raw: Buffer,
  start: number,
  maxFieldBytes: number,
  keep: (name: string) => boolean,
  stopAt?: (lineStart: number, lineEnd: number) => boolean,
  maxSectionBytes = Infinity,
  deadline?: Ticker,
): HeaderBlock {
  const block: HeaderBlock = { fields: [], bodyStart: raw.length }
  const sectionLimit = start + maxSectionBytes
  let current: HeaderField | undefined
  let pos = start
  while (pos < raw.length) {
    deadline?.tick()
    const lf = lineBreak(raw, pos)
    const end = contentEnd(raw, pos, lf)
    if (end === pos) {
      block.bodyStart = nextLine(raw, lf)
      return block
    }
    if (stopAt && raw[pos] === 0x2d && raw[pos + 1] === 0x2d && stopAt(pos, end)) {
      block.bodyStart = pos
      return block
    }
    if (isWsp(raw[pos])) {
      if (current) {
        if (end > sectionLimit) block.sectionCut ??= current.name
        const limit = Math.min(current.start + maxFieldBytes, sectionLimit)
        if (end > limit) block.cut ??= current.name
        current.end = Math.max(current.valueStart, Math.min(end, limit))
      } else {
        block.bad ??= `continuation line with no field before it at byte ${pos}`
      }
      pos = nextLine(raw, lf)
      continue
    }
    let i = pos
    while (i < end && isFtext(raw[i])) i++
    let colon = i
    // RFC 5322 4.5.8 (obsolete syntax): white space before the colon
    while (colon < end && isWsp(raw[colon])) colon++
    if (i === pos || colon >= end || raw[colon] !== COLON) {
      block.bad ??= `line without a field name and colon at byte ${pos} ends the header`
      block.bodyStart = pos
      return block
    }
    if (pos >= sectionLimit) {
      // past the section's limit: stepped over with its continuation lines, never made a string
      block.sectionCut ??= PAST_LIMIT
      current = { name: PAST_LIMIT, start: pos, valueStart: sectionLimit, end: sectionLimit }
      pos = nextLine(raw, lf)
      continue
    }
    const name = raw.toString('latin1', pos, i).toLowerCase()
    if (end > sectionLimit) block.sectionCut ??= name
    const limit = Math.min(pos + maxFieldBytes, sectionLimit)
    if (end > limit) block.cut ??= name
    const field: HeaderField = { name, start: pos, valueStart: Math.min(colon + 1, limit), end: Math.min(end, limit) }
    if (keep(name)) block.fields.push(field)
    // a field not kept still takes its continuation lines
    current = field
    pos = nextLine(raw, lf)
  }
  return block
}

/**
 * The field's value unfolded (RFC 5322 2.2.3: the line breaks removed, the
 * white space after them kept), trimmed. As 'latin1', one character per
 * byte; as 'text', UTF-8 when valid (RFC 6532) else latin1.
 */
export function fieldValue(raw: Buffer, field: HeaderField, as: 'latin1' | 'text'): string {
  let bytes: Buffer
  const firstBreak = raw.indexOf(LF, field.valueStart)
  if (firstBreak < 0 || firstBreak >= field.end) {
    bytes = raw.subarray(field.valueStart, field.end)
  } else {
    const pieces: Buffer[] = []
    let from = field.valueStart
    let lf = firstBreak
    while (lf >= 0 && lf < field.end) {
      pieces.push(raw.subarray(from, lf > from && raw[lf - 1] === CR ? lf - 1 : lf))
      from = lf + 1
      lf = raw.indexOf(LF, from)
    }
    pieces.push(raw.subarray(from, field.end))
    bytes = Buffer.concat(pieces)
  }
  const text = as === 'latin1' ? bytes.toString('latin1') : bytesToText(bytes)
  return trimSpace(text)
}

/** The message's own header fields: lower-case names, unfolded values as sent (encoded words not decoded), each cut at maxHeaderBytes. */
export function topLevelHeaders(raw: Buffer, maxHeaderBytes: number): Array<{ name: string; value: string }> {
  const block = readHeaderBlock(raw, 0, maxHeaderBytes, () => true)
  return block.fields.map((f) => ({ name: f.name, value: fieldValue(raw, f, 'text') }))
}
