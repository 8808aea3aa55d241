// Signs in part bodies that clients could decode differently: base64 that
// is not the plain regular text every mailer writes, a quoted-printable
// attachment with escapes that are none, text that an undeclared encoding
// (base64, uuencode, yEnc) would turn into a file, a bare CR before a "--".
// Ordinary mail shows none, so these cost a few native searches per part
// and the readings (readings.ts) run only on mail that shows one.
import { CR, DASH, LF } from '../../mime/lines'
import type { MimePart, MimeScan } from '../../mime/types'

const EQUALS = 0x3d
const UNDERSCORE = 0x5f
const BARE_CR_DASHES = Buffer.from('\r--')
const YBEGIN = Buffer.from('=ybegin')
const BEGIN = Buffer.from('begin ')
// RFC 2045 6.8: the base64 alphabet.
const B64 = /^[A-Za-z0-9+/]*$/
// A base64-looking line (16 characters or more) or a uuencode line of 45 bytes ("M" and 60 characters).
const ENCODED_LINE = /^(?:[A-Za-z0-9+/]{16,}={0,2}|M[\x20-\x60]{60})\r?$/
const HEX = /^[0-9A-Fa-f]{2}$/

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === CR || b === LF
}

/** A leaf part a client offers as a file: not text, or named, or an attachment. */
export function isFileLike(part: MimePart): boolean {
  return !part.contentType.startsWith('text/') || part.filenames.length > 0 || part.disposition === 'attachment'
}

/**
 * Why a base64 body is not the regular text mailers write (lines of one
 * length, the alphabet only, "=" only at the end), or undefined. Only the
 * first line's characters are read one by one; the rest costs a few
 * indexOf calls and one read per line.
 */
export function base64Oddity(raw: Buffer, start: number, end: number): string | undefined {
  const body = raw.subarray(start, end)
  if (body.indexOf(DASH) >= 0 || body.indexOf(UNDERSCORE) >= 0) return 'base64 with "-" or "_"'
  let e = body.length
  while (e > 0 && isSpace(body[e - 1])) e--
  if (e === 0) return undefined
  const eq = body.indexOf(EQUALS)
  if (eq >= 0 && eq < e - 2) return 'base64 with "=" before its end'
  const lf = body.indexOf(LF)
  const firstEnd = lf < 0 || lf > e ? e : body[lf - 1] === CR ? lf - 1 : lf
  if (!B64.test(body.toString('latin1', 0, firstEnd).replace(/=+$/, ''))) return 'base64 whose first line is not base64'
  if (lf < 0 || lf >= e) return undefined
  if (firstEnd === 0) return 'base64 after an empty line'
  const eol = lf - firstEnd + 1
  const stride = firstEnd + eol
  let last = lf
  for (let p = lf; p < e; p += stride) {
    if (body[p] !== LF || (eol === 2 && body[p - 1] !== CR)) return 'base64 lines of uneven length'
    last = p
  }
  const extra = body.indexOf(LF, last + 1)
  return extra >= 0 && extra < e ? 'base64 lines of uneven length' : undefined
}

/** An "=" in a quoted-printable body that is neither an escape nor a soft line break. */
function qpOddity(raw: Buffer, start: number, end: number): string | undefined {
  const body = raw.subarray(start, end)
  for (let i = body.indexOf(EQUALS); i >= 0; i = body.indexOf(EQUALS, i + 1)) {
    let j = i + 1
    while (j < body.length && (body[j] === 0x20 || body[j] === 0x09)) j++
    if (j >= body.length || body[j] === LF || body[j] === CR) continue
    if (!HEX.test(body.toString('latin1', i + 1, i + 3))) return 'quoted-printable with an "=" that is no escape'
  }
  return undefined
}

/** The body as sent holds what some client decodes into a file. */
function undeclaredOddity(raw: Buffer, start: number, end: number): string | undefined {
  const body = raw.subarray(start, end)
  if (body.indexOf(YBEGIN) >= 0) return 'a yEnc "=ybegin" line'
  if (body.indexOf(BEGIN) >= 0) return 'a uuencode "begin" line'
  let a = 0
  while (a < body.length && isSpace(body[a])) a++
  const lf = body.indexOf(LF, a)
  const line = body.toString('latin1', a, lf < 0 ? Math.min(body.length, a + 200) : Math.min(lf, a + 200))
  return ENCODED_LINE.test(line) ? 'encoded-looking lines under no encoding' : undefined
}

/** An attached message read in place: its own parts follow it in the scan. */
function isOpenMessage(part: MimePart): boolean {
  return (part.contentType === 'message/rfc822' || part.contentType === 'message/global') && part.encoding !== 'base64' && part.encoding !== 'quoted-printable'
}

/**
 * Signs in the leaf parts' bodies, the first of them per part, at most
 * `max` in all. A part that ends the scan short (a limit) has no readings
 * anyway: that message is refused.
 */
export function bodySigns(raw: Buffer, scan: MimeScan, max = 8): string[] {
  const out: string[] = []
  const multipart = scan.parts.length > 1
  for (const part of scan.parts) {
    if (out.length >= max) break
    if (part.isMultipart || part.bodyEnd <= part.bodyStart || isOpenMessage(part)) continue
    const { bodyStart: s, bodyEnd: e } = part
    let why: string | undefined
    // a text part is shown, not saved: only files are read for their base64's shape
    if (part.encoding === 'base64') why = isFileLike(part) ? base64Oddity(raw, s, e) : undefined
    else if (part.encoding === 'quoted-printable') why = isFileLike(part) ? qpOddity(raw, s, e) : undefined
    else if (isFileLike(part)) why = undeclaredOddity(raw, s, e)
    else if (raw.subarray(s, e).indexOf(YBEGIN) >= 0) why = 'a yEnc "=ybegin" line'
    if (!why && multipart && !isFileLike(part) && raw.subarray(s, e).indexOf(BARE_CR_DASHES) >= 0) why = 'a bare CR before "--"'
    if (why) out.push(`part ${part.path || '1'}: ${why}`)
  }
  return out
}
