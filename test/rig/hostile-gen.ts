// Hostile messages, made on demand: every shape of issue 14 as a function
// of its size, the same bytes for the same arguments (no stored blobs, no
// clock, seeded randomness). Each returns the message as Haraka keeps it:
// CRLF line ends, no dot-stuffing, no final dot; dataPayload() makes the
// bytes to send after DATA's 354. Lines stay under 998 octets (RFC 5322
// 2.1.1) so that Haraka passes them on unchanged.
import { createHash } from 'node:crypto'
import { mulberry32 } from './prng'
import { PROGRAM, zipOf } from './zip-corpus'

export const BANNED = 'invoice.exe'
/** The message header every shape starts with; From and the rest vary per shape. */
const DATE = 'Date: Sat, 28 Nov 2026 12:00:00 +0000'
// A line of uuencoded data: "M" (45 bytes) and 60 characters.
const UU_LINE = 'M' + '86%C9&5F9VAI:FML;6YO<'.repeat(3).slice(0, 60)
// A MIME line of base64 (76 characters, RFC 2045 6.8).
const B64_LINE_CHARS = 76

function head(from: string, subject: string, extra: string[] = []): string[] {
  return [`From: ${from}`, 'To: bob@example.com', `Subject: ${subject}`, DATE, `Message-ID: <${subject.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}@hostile.test>`, ...extra]
}

const crlf = (lines: readonly string[]): string => lines.join('\r\n') + '\r\n'

function exePart(): string {
  return `Content-Type: application/octet-stream; name="${BANNED}"\r\nContent-Disposition: attachment; filename="${BANNED}"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAA\r\n`
}

/** Base64 in 76-character lines of data, CRLF after each. */
function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64')
  const out: string[] = []
  for (let i = 0; i < b64.length; i += B64_LINE_CHARS) out.push(b64.slice(i, i + B64_LINE_CHARS))
  return crlf(out)
}

/** unit repeated as often as it fits in bytes (once at least): one allocation, no join of millions of strings. */
function fill(unit: string, bytes: number): Buffer {
  const u = Buffer.from(unit, 'latin1')
  const n = Math.max(1, Math.floor(bytes / u.length))
  const out = Buffer.allocUnsafe(n * u.length)
  out.fill(u)
  return out
}

// --- a: the header section ---------------------------------------------------

/** One Subject field folded over `lines` continuation lines of "\t xxxxxxxx" (12 octets each), a small text body. */
export function foldedHeader(lines = 50000): Buffer {
  const top = crlf(head('alice@sender.example', 'folded', []).filter((l) => !l.startsWith('Subject:')))
  const folded = Buffer.concat([Buffer.from('Subject: x\r\n'), fill('\t xxxxxxxx\r\n', lines * 12)])
  const rest = crlf(['MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', 'A small body.'])
  return Buffer.concat([Buffer.from(top), folded, Buffer.from(rest)])
}

// --- c: uuencode begin lines in a text body -------------------------------------

export interface UuOptions {
  files?: number
  /** Data lines after each begin line (none has an "end"). */
  dataLines?: number
  /** Which begin line names BANNED (0-based); default the last; -1 for none. */
  bannedAt?: number
}

/** A text/plain message of `files` uuencode begin lines, each followed by data lines and no "end". */
export function uuencodeBegins(o: UuOptions = {}): Buffer {
  const files = o.files ?? 500
  const dataLines = o.dataLines ?? 100
  const bannedAt = o.bannedAt ?? files - 1
  const block = crlf(Array.from({ length: dataLines }, () => UU_LINE))
  const body: string[] = []
  for (let i = 0; i < files; i++) body.push(`begin 644 ${i === bannedAt ? BANNED : `file${i}.txt`}\r\n`, block)
  const top = crlf([...head('alice@sender.example', 'uuencoded files'), 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', 'Files below.'])
  return Buffer.from(top + body.join(''), 'latin1')
}

// --- d: MIME limits -----------------------------------------------------------------

function multipart(boundary: string, parts: readonly string[]): string {
  return parts.map((p) => `--${boundary}\r\n${p}`).join('') + `--${boundary}--\r\n`
}

function mimeTop(subject: string, contentType: string, from = 'alice@sender.example'): string {
  return crlf([...head(from, subject), 'MIME-Version: 1.0', `Content-Type: ${contentType}`, ''])
}

/** `before` small text parts in one multipart/mixed, then BANNED as the next part (so BANNED is part before+2, the message itself counted: 999 puts it 1001st). */
export function manyParts(before = 999): Buffer {
  const text = (i: number): string => `Content-Type: text/plain\r\n\r\npart ${i}\r\n`
  const parts = Array.from({ length: before }, (_, i) => text(i))
  parts.push(exePart())
  return Buffer.from(mimeTop('many parts', 'multipart/mixed; boundary="many"') + multipart('many', parts))
}

/** `depth` multiparts, each the only part of the one before; BANNED inside the innermost. */
export function deepMultipart(depth = 51): Buffer {
  let inner = exePart()
  for (let d = depth; d >= 2; d--) inner = `Content-Type: multipart/mixed; boundary="d${d}"\r\n\r\n` + multipart(`d${d}`, [inner])
  return Buffer.from(mimeTop('deep', 'multipart/mixed; boundary="d1"') + multipart('d1', [inner]))
}

/** BANNED named by filename= after `paramBytes` of other Content-Disposition parameters, one folded line each. */
export function longDisposition(paramBytes = 128 * 1024): Buffer {
  const lines: string[] = ['Content-Disposition: attachment;']
  let size = 0
  for (let i = 0; size < paramBytes; i++) {
    const line = ` x${i}="${'a'.repeat(900)}";`
    lines.push(line)
    size += line.length + 2
  }
  lines.push(` filename="${BANNED}"`)
  const part = `Content-Type: application/octet-stream\r\n${lines.join('\r\n')}\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n`
  return Buffer.from(mimeTop('long disposition', 'multipart/mixed; boundary="ld"') + multipart('ld', ['Content-Type: text/plain\r\n\r\nSee attached.\r\n', part]))
}

/** BANNED attached to a message attached base64-encoded as message/rfc822 to another, `levels` deep; the innermost text is `textBytes` long. */
export function encodedMessages(levels = 4, textBytes = 8): Buffer {
  const text = crlf(Array.from({ length: Math.ceil(textBytes / 78) }, () => 'Inner text.'.padEnd(76, '.')))
  let msg = mimeTop('level 0', 'multipart/mixed; boundary="l0"') + multipart('l0', [`Content-Type: text/plain\r\n\r\n${text}`, exePart()])
  for (let l = 1; l <= levels; l++) {
    const part = `Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment\r\n\r\n${base64Lines(Buffer.from(msg))}`
    msg = mimeTop(`level ${l}`, `multipart/mixed; boundary="l${l}"`) + multipart(`l${l}`, [`Content-Type: text/plain\r\n\r\nForwarded.\r\n`, part])
  }
  return Buffer.from(msg)
}

// --- f, g: From fields --------------------------------------------------------------

/** The domain of the i-th From address (1-based) of manyFromDomains. */
export const fromDomain = (i: number): string => `d${i}.ex`

/**
 * A From field of `count` addresses u@d1.ex,u@d2.ex,..., 50 to a folded
 * line: 5,000 of them make a 54 KB field, inside every header limit, so that
 * the From-domain cap is what answers.
 */
export function manyFromDomains(count = 5000): Buffer {
  const lines: string[] = []
  for (let i = 1; i <= count; i += 50) {
    const chunk = Array.from({ length: Math.min(50, count - i + 1) }, (_, k) => `u@${fromDomain(i + k)}`)
    lines.push(chunk.join(',') + (i + 50 <= count ? ',' : ''))
  }
  const from = lines.join('\r\n ')
  return Buffer.from(crlf([...head(from, 'many from domains'), '', 'Hello.']))
}

/** A From address whose local part is a quoted string of `bytes` octets, folded every 900, at domain. */
export function longQuotedLocal(domain: string, bytes = 22 * 1024): Buffer {
  const chunks: string[] = []
  for (let i = 0; i < bytes; i += 900) chunks.push('q'.repeat(Math.min(900, bytes - i)))
  const from = `"${chunks.join('\r\n ')}"@${domain}`
  return Buffer.from(crlf([...head(from, 'long local part'), '', 'Hello.']))
}

/** C1 controls (NEL, CSI), U+2028 and U+2029 in a From address at domain, as UTF-8 octets. */
export const CONTROL_LOCAL = 'a\u0085b\u009bc\u2028d\u2029e'
export function controlCharsFrom(domain: string): Buffer {
  return Buffer.from(crlf([...head(`"${CONTROL_LOCAL}"@${domain}`, 'controls'), '', 'Hello.']), 'utf8')
}

/** The signing domain of the i-th signature (1-based) of manySignatures: under the From domain, so that each one aligns (RFC 7489 3.1.1, relaxed) and is worth verifying. */
export const signatureDomain = (i: number, fromDomain: string): string => `s${i}.${fromDomain}`

/**
 * `count` DKIM-Signature fields, each of another subdomain of fromDomain
 * with a key nobody publishes, on a message From: alice@fromDomain. 300 of
 * them make an 85 KB, 600-line header section, inside the header limits, so
 * that the cap on signatures verified is what bounds the lookups.
 */
export function manySignatures(fromDomain: string, count = 300): Buffer {
  const rnd = mulberry32(count)
  const b64 = (n: number): string => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256))).toString('base64')
  // The true body hash (the body is already in relaxed form, RFC 6376 3.4.4): a verifier cannot stop before it fetches the key.
  const body = 'Hello.\r\n'
  const bh = createHash('sha256').update(body).digest('base64')
  const sigs: string[] = []
  for (let i = 1; i <= count; i++) {
    sigs.push(`DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${signatureDomain(i, fromDomain)}; s=s1; h=from:to:subject; bh=${bh};`, ` b=${b64(96)}`)
  }
  return Buffer.from(crlf([...sigs, ...head(`alice@${fromDomain}`, 'many signatures'), '']) + body)
}

// --- h: the largest messages ----------------------------------------------------------

/** A single base64 part named and typed as a zip, `bytes` long in all: a local file header, then filler that never ends the archive. */
export function bigZipPart(bytes = 25_000_000): Buffer {
  const top = mimeTop('big archive', 'multipart/mixed; boundary="z"') + '--z\r\nContent-Type: application/zip; name="data.zip"\r\nContent-Disposition: attachment; filename="data.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  const tail = '--z--\r\n'
  // 78 wire octets carry 57 bytes of data
  const dataBytes = Math.max(64, Math.floor((bytes - top.length - tail.length) / 78) * 57)
  const data = Buffer.allocUnsafe(dataBytes)
  const rnd = mulberry32(14)
  // octets 0x80-0xff only, so the filler holds no "PK" signature
  for (let i = 0; i < data.length; i++) data[i] = 0x80 | Math.floor(rnd() * 128)
  Buffer.from('504b0304140000000800', 'hex').copy(data, 0)
  return Buffer.concat([Buffer.from(top), Buffer.from(base64Lines(data)), Buffer.from(tail)])
}

/**
 * A part that repeats Content-Transfer-Encoding (7bit, then base64) over
 * `bytes` of base64 whose data ends with a zip holding invoice.exe: a sign
 * of disagreement, so the whole message is read every way (content/readings).
 */
export function disputedBig(bytes = 25_000_000): Buffer {
  const top = mimeTop('disputed', 'multipart/mixed; boundary="z"') + '--z\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  const tail = '\r\n--z--\r\n'
  const zip = zipOf({ 'invoice.exe': PROGRAM })
  const dataBytes = Math.max(64, Math.floor((bytes - top.length - tail.length) / 78) * 57)
  const data = Buffer.allocUnsafe(dataBytes)
  const rnd = mulberry32(15)
  // octets 0x80-0xff only, so the filler holds no "PK" signature
  for (let i = 0; i < data.length; i++) data[i] = 0x80 | Math.floor(rnd() * 128)
  zip.copy(data, data.length - zip.length)
  return Buffer.concat([Buffer.from(top), Buffer.from(base64Lines(data)), Buffer.from(tail)])
}

/** A multipart/mixed whose body is `bytes` of "--boundary" lines: every line a delimiter. */
export function boundaryLines(bytes = 25_000_000): Buffer {
  const top = mimeTop('boundaries', 'multipart/mixed; boundary="boundary"')
  return Buffer.concat([Buffer.from(top), fill('--boundary\r\n', bytes - top.length)])
}

/** A text/plain message of `bytes` of "begin 644 file.txt" lines and nothing else. */
export function uuBeginLines(bytes = 25_000_000): Buffer {
  const top = crlf([...head('alice@sender.example', 'begin lines'), 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', ''])
  return Buffer.concat([Buffer.from(top), fill('begin 644 file.txt\r\n', bytes - top.length)])
}

/**
 * A message `bytes` long that carries a well-formed DKIM-Signature of
 * d=domain; s=selector, whose hashes match nothing: the verifier must hash
 * the whole body to find that out. The body has trailing blanks on every
 * line, which relaxed body canonicalization (RFC 6376 3.4.4) rewrites.
 */
export function dkimLooking(domain: string, selector: string, bytes = 25_000_000): Buffer {
  const rnd = mulberry32(6376)
  const b64 = (n: number): string => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256))).toString('base64')
  const sig = [
    `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${domain}; s=${selector};`,
    ' h=from:to:subject:date:message-id; t=1796040000;',
    ` bh=${b64(32)};`,
    ` b=${b64(128)}`,
    ` ${b64(128)}`,
  ]
  const top = crlf([...sig, ...head(`alice@${domain}`, 'signed'), 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', ''])
  return Buffer.concat([Buffer.from(top), fill('Lorem ipsum dolor sit amet, consectetur adipiscing elit \t \t \t  \r\n', bytes - top.length)])
}

// --- on the wire ------------------------------------------------------------------------

const NL_DOT = Buffer.from('\n.')

/** The bytes to send after DATA's 354: dot-stuffed where a line starts with ".", and the final dot. */
export function dataPayload(message: Buffer): Buffer {
  const end = message.length && message[message.length - 1] !== 0x0a ? Buffer.from('\r\n.\r\n') : Buffer.from('.\r\n')
  if (message[0] !== 0x2e && message.indexOf(NL_DOT) < 0) return Buffer.concat([message, end])
  const text = message.toString('latin1').replace(/^\./gm, '..')
  return Buffer.concat([Buffer.from(text, 'latin1'), end])
}
