// Line handling on the raw bytes. Messages arrive with CRLF (RFC 5322 2.1)
// or, after some relays and tools, bare LF; both end a line. Lines are found
// with Buffer.indexOf so that no part of the message becomes a string unless
// a check needs it.

export const LF = 0x0a
export const CR = 0x0d
export const SP = 0x20
export const TAB = 0x09
export const DASH = 0x2d

/** The index of the LF ending the line that starts at start, or buf.length for a last line without one. */
export function lineBreak(buf: Buffer, start: number): number {
  const i = buf.indexOf(LF, start)
  return i < 0 ? buf.length : i
}

/** Where the line's content ends: before its CR LF or LF. */
export function contentEnd(buf: Buffer, start: number, lf: number): number {
  return lf > start && buf[lf - 1] === CR ? lf - 1 : lf
}

/** The start of the line after the one ended at lf. */
export function nextLine(buf: Buffer, lf: number): number {
  return lf < buf.length ? lf + 1 : buf.length
}

/** The position of the line break just before lineStart, not going below floor. */
export function beforeLineBreak(buf: Buffer, lineStart: number, floor: number): number {
  let e = lineStart
  if (e > floor && buf[e - 1] === LF) {
    e--
    if (e > floor && buf[e - 1] === CR) e--
  }
  return e
}

export function isWsp(b: number | undefined): boolean {
  return b === SP || b === TAB
}

/**
 * A string without the spaces, tabs, CRs and LFs at its ends. Written out
 * because an anchored regex such as /\s+$/ is quadratic on a long run of
 * spaces followed by something else, and String.trim also removes U+00A0,
 * which in a latin1 string is a byte of the value.
 */
export function trimSpace(text: string): string {
  let a = 0
  let b = text.length
  while (a < b && isSpaceCode(text.charCodeAt(a))) a++
  while (b > a && isSpaceCode(text.charCodeAt(b - 1))) b--
  return a === 0 && b === text.length ? text : text.slice(a, b)
}

function isSpaceCode(c: number): boolean {
  return c === SP || c === TAB || c === CR || c === LF
}
