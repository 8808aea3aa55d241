// The other ways a client may read a name= or filename= value. Mail clients
// do not all follow RFC 2045/2231/5322 to the letter: some join a quoted
// string to the text after it ("invoice".com), take single quotes for
// quotes ('invoice.com'), resolve backslashes outside quotes (inv\.com), or
// keep a ";" inside an unquoted value (inv;oice.com). A sender can pick the
// reading the scanner does not make, so the scanner makes them all and the
// checks judge every one. Each reading stops at `limit`, the next name
// parameter, so that the readings of one field cost its length.
import { trimSpace } from './lines'

// Either header may carry either parameter: RFC 2045 5.1 (name=, from RFC
// 1341) and RFC 2183 2.3 (filename=) are the standard places, and clients
// honour the other two as well.
export const NAME_PARAMS = new Set(['name', 'filename'])

/** Where one parameter value sits in its field, as the standard parse read it. */
export interface ValueSpan {
  /** The value's first character (an opening quote for a quoted string). */
  start: number
  /** Where the standard reading stopped: the ";" after it, or the end of the field. */
  end: number
  /** Where the pieces without "=" right after it end (the standard parse skips them); end when none. */
  junkEnd: number
  /** The ";" before the next name parameter, or the end of the field: no reading goes past it. */
  limit: number
  /** A token, a quoted string, or a quoted string never closed (it ran to the end of the field). */
  form: 'token' | 'quoted' | 'unclosed'
}

/** Index just after the comment that starts at i (nested, with quoted pairs), or `end`. */
export function skipComment(text: string, i: number, end = text.length): number {
  let depth = 0
  for (; i < end; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i + 1
  }
  return end
}

function isSpaceOrSemicolon(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';'
}

/**
 * A backslash makes the next character plain: any character outside
 * quotes; inside them only the quote and the backslash, as in the standard
 * reading (params.ts keeps Windows paths whole: "C:\x\evil.exe").
 */
function escapes(text: string, i: number, limit: number, quote: string, quoted: boolean): boolean {
  if (text[i] !== '\\' || i + 1 >= limit) return false
  return !quoted || text[i + 1] === quote || text[i + 1] === '\\'
}

/**
 * A lenient client's reading: `quote` opens and closes quoting anywhere in
 * the value (quoted pieces joined to the text around them), backslashes
 * escape (see escapes()), comments outside quotes are left out, and only a
 * ";" outside quotes ends the value.
 */
function lenient(text: string, i: number, limit: number, quote: string): string {
  const pieces: string[] = []
  let from = i
  let quoted = false
  while (i < limit) {
    const c = text[i]
    if (escapes(text, i, limit, quote, quoted)) {
      pieces.push(text.slice(from, i))
      from = i + 1
      i += 2
    } else if (c === quote) {
      pieces.push(text.slice(from, i))
      quoted = !quoted
      from = ++i
    } else if (quoted) {
      i++
    } else if (c === ';') {
      break
    } else if (c === '(') {
      pieces.push(text.slice(from, i))
      from = i = skipComment(text, i, limit)
    } else {
      i++
    }
  }
  pieces.push(text.slice(from, i))
  return trimSpace(pieces.join(''))
}

/** The quoted string that opens at i with `quote`, up to its closing quote (escapes as inside quotes), text after it left out. */
function quotedOnly(text: string, i: number, limit: number, quote: string): string {
  const pieces: string[] = []
  let from = ++i
  while (i < limit && text[i] !== quote) {
    if (escapes(text, i, limit, quote, true)) {
      pieces.push(text.slice(from, i))
      from = i + 1
      i += 2
    } else {
      i++
    }
  }
  pieces.push(text.slice(from, Math.min(i, limit)))
  return pieces.join('')
}

/** The text from i to end as sent, ";" included, comments left out, trimmed of white space and ";" at both ends. */
function runOn(text: string, i: number, end: number): string {
  const pieces: string[] = []
  let from = i
  while (i < end) {
    if (text[i] === '(') {
      pieces.push(text.slice(from, i))
      from = i = skipComment(text, i, end)
    } else {
      i++
    }
  }
  pieces.push(text.slice(from, end))
  const joined = pieces.join('')
  let a = 0
  let b = joined.length
  while (a < b && isSpaceOrSemicolon(joined[a])) a++
  while (b > a && isSpaceOrSemicolon(joined[b - 1])) b--
  return joined.slice(a, b)
}

/**
 * The readings of one value other than the standard one (some may equal
 * it), as byte strings like the field: a lenient reading of double quotes
 * and backslashes; for a value in single quotes, the quoted text alone and
 * joined to what follows; for an unquoted value followed by pieces without
 * "=" (";" inside the value: inv;oice.com), the text up to the end of those
 * pieces and up to the next name parameter or the end of the field. A
 * value followed by well-formed parameters only is not run on: that would
 * name a file after the parameters of every ordinary message. Comments are
 * never part of a reading. A quoted string never closed is read again by
 * the caller (params.ts).
 */
export function valueReadings(text: string, span: ValueSpan): string[] {
  const { start, limit } = span
  const out = [lenient(text, start, limit, '"')]
  if (text[start] === "'") out.push(quotedOnly(text, start, limit, "'"), lenient(text, start, limit, "'"))
  if (span.form === 'token' && span.junkEnd > span.end) {
    out.push(runOn(text, start, Math.min(span.junkEnd, limit)), runOn(text, start, limit))
  }
  return out
}
