// Multipart delimiter lines (RFC 2046 5.1.1): "--" boundary, then optional
// white space ("transport padding"), is a delimiter; "--" boundary "--" the
// close delimiter. The whole line must have this form, as Thunderbird's and
// Python's MIME parsers check it, rather than only start with "--" boundary
// as the RFC's note to implementors allows: a line "--abcdef" is then never
// taken for a delimiter of "abc", so a boundary may be a prefix of another
// (RFC 2046 5.1.2 asks nested multiparts for different boundaries, not for
// boundaries that are not prefixes of each other).
import { DASH, isWsp } from './lines'

export const NOT_DELIMITER = 0
export const DELIMITER = 1
export const CLOSE_DELIMITER = 2

/** What the line buf[start, end) (without its line break) is for this boundary. */
export function matchDelimiter(buf: Buffer, start: number, end: number, boundary: Buffer): number {
  const afterBoundary = start + 2 + boundary.length
  if (afterBoundary > end || buf[start] !== DASH || buf[start + 1] !== DASH) return NOT_DELIMITER
  // byte by byte: boundaries are short, and most lines differ early
  for (let i = 0; i < boundary.length; i++) if (buf[start + 2 + i] !== boundary[i]) return NOT_DELIMITER
  let i = afterBoundary
  let close = false
  if (i + 2 <= end && buf[i] === DASH && buf[i + 1] === DASH) {
    close = true
    i += 2
  }
  while (i < end && isWsp(buf[i])) i++
  if (i < end) return NOT_DELIMITER
  return close ? CLOSE_DELIMITER : DELIMITER
}
