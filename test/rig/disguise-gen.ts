// Disguised attachments (issue 16): whole messages, each hiding one file
// behind one MIME trick a lenient mail client would still open, in the
// classes of the "The gaps" (Content-Transfer-Encoding fields,
// damaged base64, quoted-printable, the header/body separator, non-MIME
// encodings, a part that claims to be multipart, boundary parameters, the
// top-level Content-Type, delimiter lines, file names) and in pairs of them.
//
// Every hostile message carries a zip holding a banned program
// (payload.com): refused with G1A once the scanner reads the zip. The file
// name class instead hides the banned name itself (invoice.com on a PDF):
// G1B. Benign twins play the same trick with a zip of a PDF or a harmless
// name, and ordinary mail that merely looks like a trick (prose about
// uuencode, base64 that is no zip, signature lines, forwards, "PK" in text)
// must be accepted.
//
// Messages are CRLF, no line near the 998-octet limit, no bare LF (Haraka
// answers one with 451), no dot-stuffing; bare CRs are where a trick puts
// them. The zips are written with writeZip (a fixed date): zipOf's entries
// carry the clock's time, and the same call must give the same bytes.
// Random choices (junk positions, line lengths) come from a seeded PRNG.
import * as zlib from 'node:zlib'
import { mulberry32 } from './prng'
import { PROGRAM, writeZip } from './zip-corpus'

export const disguiseClasses = [
  'cte', 'base64', 'quoted-printable', 'separator', 'non-mime', 'claims-multipart',
  'boundary', 'top-level-type', 'delimiter', 'file-name', 'combined', 'ordinary',
] as const
export type DisguiseClass = (typeof disguiseClasses)[number]

export interface Disguise {
  cls: DisguiseClass
  /** Unique: class, trick, and "benign" for a twin. */
  name: string
  hostile: boolean
  /** As Haraka keeps it: CRLF, no dot-stuffing, no final dot. */
  message: Buffer
  /** The trick in a few words, for test names. */
  how: string
  /** The refusal a hostile message should get: G1A (the program in the zip) or G1B (the banned name itself). */
  verdict?: 'G1A' | 'G1B'
}

const CRLF = '\r\n'
const PDF = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'
const HOSTILE_ZIP = writeZip([{ name: 'payload.com', data: PROGRAM }])
const BENIGN_ZIP = writeZip([{ name: 'report.pdf', data: Buffer.from(PDF, 'latin1') }])

/**
 * A zip whose bytes hold no CR and no LF, for bodies sent as they are
 * (binary, 7bit): the data is padded with spaces, after it or before it,
 * until compressed bytes, CRC and sizes happen to avoid them. Tried in a
 * fixed order, so always the same zip.
 */
function wireSafeZip(name: string, data: Buffer): Buffer {
  for (let pad = 0; pad < 500; pad++) {
    const spaces = Buffer.alloc(pad, 0x20)
    for (const padded of [Buffer.concat([data, spaces]), Buffer.concat([spaces, data])]) {
      const zip = writeZip([{ name, data: padded }])
      if (!zip.includes(0x0a) && !zip.includes(0x0d)) return zip
    }
  }
  throw new Error(`no padding keeps ${name}'s zip free of CR and LF`)
}

// --- encodings, written the way a sender's tool writes them -----------------

function lines(text: string, width: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width))
  return out
}

const base64Lines = (data: Buffer): string => lines(data.toString('base64'), 76).join(CRLF)

/** Quoted-printable: printable bytes as they are unless every byte is escaped; soft breaks keep lines within 76, or follow every byte. */
function quotedPrintable(data: Buffer, o: { escapeAll?: boolean; softEvery?: boolean; lower?: boolean } = {}): string {
  const out: string[] = []
  let line = ''
  for (const byte of data) {
    const plain = !o.escapeAll && byte > 32 && byte < 127 && byte !== 0x3d
    let hex = byte.toString(16).padStart(2, '0')
    hex = o.lower ? hex : hex.toUpperCase()
    const token = plain ? String.fromCharCode(byte) : `=${hex}`
    if (o.softEvery) {
      out.push(`${token}=`)
      continue
    }
    if (line.length + token.length > 75) {
      out.push(`${line}=`)
      line = ''
    }
    line += token
  }
  if (line) out.push(line)
  return out.join(CRLF)
}

/** uuencode data lines (45 bytes each, "`" for zero) and the empty last line; no begin or end. */
function uuLines(data: Buffer): string[] {
  const ch = (v: number): string => (v === 0 ? '`' : String.fromCharCode(32 + v))
  const out: string[] = []
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45)
    let line = ch(chunk.length)
    for (let j = 0; j < chunk.length; j += 3) {
      const a = chunk[j]
      const b = chunk[j + 1] ?? 0
      const c = chunk[j + 2] ?? 0
      line += ch(a >> 2) + ch(((a & 3) << 4) | (b >> 4)) + ch(((b & 15) << 2) | (c >> 6)) + ch(c & 63)
    }
    out.push(line)
  }
  out.push('`')
  return out
}

/** yEnc (yEnc 1.3): each byte plus 42; NUL, LF, CR, "=" escaped, and tab, space and "." too so no line ends in white space or starts with a dot. */
function yEnc(data: Buffer, name: string): string {
  const critical = new Set([0x00, 0x0a, 0x0d, 0x3d, 0x09, 0x20, 0x2e])
  const out = [`=ybegin line=128 size=${data.length} name=${name}`]
  let line = ''
  for (const byte of data) {
    const o = (byte + 42) & 0xff
    line += critical.has(o) ? `=${String.fromCharCode((o + 64) & 0xff)}` : String.fromCharCode(o)
    if (line.length >= 128) {
      out.push(line)
      line = ''
    }
  }
  if (line) out.push(line)
  out.push(`=yend size=${data.length} crc32=${zlib.crc32(data).toString(16).padStart(8, '0')}`)
  return out.join(CRLF)
}

/** Text with junk characters put in at random gaps: never two together, never at a line's start or inside its CRLF. */
function sprinkle(text: string, junk: string, every: [number, number], rnd: () => number): string {
  const gap = (): number => every[0] + Math.floor(rnd() * (every[1] - every[0] + 1))
  let out = ''
  let next = gap()
  for (let i = 0; i < text.length; i++) {
    out += text[i]
    if (--next <= 0 && text[i] !== '\r' && text[i] !== '\n') {
      out += junk[Math.floor(rnd() * junk.length)]
      next = gap()
    }
  }
  return out
}

/** Base64 in lines of random length from min to max characters. */
function unevenLines(b64: string, min: number, max: number, rnd: () => number): string {
  const out: string[] = []
  for (let i = 0; i < b64.length;) {
    const n = min + Math.floor(rnd() * (max - min + 1))
    out.push(b64.slice(i, i + n))
    i += n
  }
  return out.join(CRLF)
}

/** Chunks of sizes that are not multiples of 3, each base64 with its own padding: "=" in mid-stream. */
function paddedChunks(data: Buffer, sizes: number[]): string[] {
  const out: string[] = []
  for (let at = 0, k = 0; at < data.length; k++) {
    const n = sizes[k % sizes.length]
    out.push(data.subarray(at, at + n).toString('base64'))
    at += n
  }
  return out
}

const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16()
const percentUtf16be = (text: string): string => [...utf16be(text)].map((b) => (b >= 0x30 && b < 0x7f && b !== 0x25 && b !== 0x27 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('')

// --- parts and messages -------------------------------------------------------

const part = (headers: readonly string[], body: string): string => [...headers, '', body].join(CRLF)

const NAMED = ['Content-Type: application/octet-stream; name="files.dat"', 'Content-Disposition: attachment; filename="files.dat"']
const B64 = 'Content-Transfer-Encoding: base64'
const TEXT_PART = part(['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'], 'Hello Bob,\r\n\r\nthe files you asked for are attached.\r\n\r\nAlice')
const PREAMBLE = 'This is a multi-part message in MIME format.'

/** A plain base64 attachment: what the structure tricks (boundary, top-level type, delimiters) hide. */
const plainAttachment = (zip: Buffer): string => part([...NAMED, B64], base64Lines(zip))

function multipartBody(delimiter: string, parts: readonly string[]): string {
  return [PREAMBLE, ...parts.flatMap((p) => [`--${delimiter}`, p]), `--${delimiter}--`, ''].join(CRLF)
}

interface Shape {
  /** Header lines after the standard ones (Content-Type and its tricks). */
  head: string[]
  body: string
  /** Leave out MIME-Version. */
  noMimeVersion?: boolean
}

const standard = (attachment: string): Shape => ({ head: ['Content-Type: multipart/mixed; boundary="q1"'], body: multipartBody('q1', [TEXT_PART, attachment]) })

function mail(id: string, subject: string, shape: Shape): Buffer {
  const head = [
    'From: Alice Example <alice@sender.example>', 'To: Bob <bob@example.com>', `Subject: ${subject}`,
    'Date: Sat, 28 Nov 2026 12:00:00 +0000', `Message-ID: <${id.replace(/[^a-z0-9.-]+/gi, '.')}@sender.example>`,
    ...(shape.noMimeVersion ? [] : ['MIME-Version: 1.0']), ...shape.head,
  ]
  const text = [...head, '', shape.body].join(CRLF)
  return Buffer.from(text.endsWith(CRLF) ? text : text + CRLF, 'latin1')
}

// --- the tricks -----------------------------------------------------------------

/**
 * A disguised attachment part around a zip; rnd is seeded per trick, so a
 * twin gets the same junk; raw is the same kind of zip with no CR or LF in
 * it, for bodies sent as they are.
 */
interface PartTrick {
  cls: DisguiseClass
  key: string
  how: string
  build: (zip: Buffer, rnd: () => number, raw: Buffer) => string
}

/** A message skeleton that hides its attachment part. */
interface ShapeTrick {
  cls: DisguiseClass
  key: string
  how: string
  build: (attachment: string) => Shape
}

/** CTE fields between the Content-Type and the Content-Disposition, or after both (where an indented one folds into the latter). */
const cte = (key: string, how: string, fields: string[], afterDisposition = false): PartTrick => ({
  cls: 'cte', key, how,
  build: (zip) => part(afterDisposition ? [...NAMED, ...fields] : [NAMED[0], ...fields, NAMED[1]], base64Lines(zip)),
})

const damaged = (key: string, how: string, body: (zip: Buffer, rnd: () => number) => string): PartTrick => ({
  cls: 'base64', key, how, build: (zip, rnd) => part([...NAMED, B64], body(zip, rnd)),
})

const QP = 'Content-Transfer-Encoding: quoted-printable'
const qp = (key: string, how: string, body: (zip: Buffer) => string): PartTrick => ({
  cls: 'quoted-printable', key, how, build: (zip) => part([...NAMED, QP], body(zip)),
})

const PART_TRICKS: PartTrick[] = [
  // 1. Content-Transfer-Encoding
  cte('7bit-then-base64', 'two CTE fields, 7bit then base64', ['Content-Transfer-Encoding: 7bit', B64]),
  cte('base64-then-7bit', 'two CTE fields, base64 then 7bit', [B64, 'Content-Transfer-Encoding: 7bit']),
  { cls: 'cte', key: '8bit-then-base64-apart', how: 'CTE 8bit before the Content-Disposition, base64 after it', build: (zip) => part([NAMED[0], 'Content-Transfer-Encoding: 8bit', NAMED[1], B64], base64Lines(zip)) },
  cte('list', 'CTE "base64, quoted-printable"', ['Content-Transfer-Encoding: base64, quoted-printable']),
  cte('x-base64', 'CTE x-base64', ['Content-Transfer-Encoding: x-base64']),
  cte('quoted', 'CTE "base64" in quotes', ['Content-Transfer-Encoding: "base64"']),
  cte('spaces', 'CTE " base64 " with white space around', ['Content-Transfer-Encoding:   base64 \t']),
  cte('comment', 'CTE "base64 (yes)" with a comment', ['Content-Transfer-Encoding: base64 (yes)']),
  cte('no-colon', 'CTE line without a colon', ['Content-Transfer-Encoding base64']),
  cte('space-before-colon', 'CTE with a space before the colon', ['Content-Transfer-Encoding : base64']),
  cte('indented', 'CTE indented, folded into the Content-Disposition', [' Content-Transfer-Encoding: base64'], true),
  cte('empty-then-base64', 'an empty CTE field, then base64', ['Content-Transfer-Encoding:', B64]),
  cte('upper-case', 'CTE BASE64 in capitals, no space after the colon', ['content-transfer-encoding:BASE64']),
  // 2. damaged base64
  damaged('hash-every-char', 'base64 with "#" after every character', (zip) => [...zip.toString('base64')].join('#')),
  damaged('bang-between-quanta', 'base64 with "!" between quanta', (zip) => lines(lines(zip.toString('base64'), 4).join('!'), 75).join(CRLF)),
  damaged('junk-every-few', 'base64 with "#", "!", "*" every 2-5 characters', (zip, rnd) => sprinkle(base64Lines(zip), '#!*', [2, 5], rnd)),
  damaged('mid-stream-pad', 'base64 padded chunks joined on one line ("=" in mid-stream)', (zip) => paddedChunks(zip, [7, 11, 5]).join('')),
  damaged('padded-lines', 'base64 padded chunks, one a line', (zip) => paddedChunks(zip, [40, 44, 38]).join(CRLF)),
  damaged('stray-lines', 'stray text lines before the base64', (zip) => `Here is the file.\r\n(sent from my phone)\r\n${base64Lines(zip)}`),
  damaged('dash-underscore', 'base64 with "-" and "_" sprinkled in', (zip, rnd) => sprinkle(base64Lines(zip), '-_', [3, 9], rnd)),
  damaged('uneven-lines', 'base64 in lines of uneven length', (zip, rnd) => unevenLines(zip.toString('base64'), 5, 90, rnd)),
  damaged('spaces-tabs', 'base64 with spaces and tabs between quanta', (zip, rnd) => sprinkle(base64Lines(zip), ' \t', [4, 12], rnd)),
  // 3. quoted-printable
  qp('soft-break-every-byte', 'QP, every byte escaped, a soft break after each', (zip) => quotedPrintable(zip, { escapeAll: true, softEvery: true })),
  qp('plain', 'QP as an encoder writes it', (zip) => quotedPrintable(zip)),
  qp('lower-case', 'QP with lower-case hex escapes', (zip) => quotedPrintable(zip, { lower: true })),
  qp('invalid-before', 'QP with invalid escapes (=G, lone =) on a line before the zip', (zip) => `Attached=G file = see=\r\n\r\n${quotedPrintable(zip)}`),
  qp('invalid-after', 'QP with invalid escapes (=G, lone =) after the zip', (zip) => `${quotedPrintable(zip, { softEvery: true })}\r\n=G=Z = end =`),
  // 4. header/body separator
  { cls: 'separator', key: 'junk-line', how: 'a line that is no header before the blank line', build: (zip) => part([...NAMED, B64, 'this line is not a header'], base64Lines(zip)) },
  { cls: 'separator', key: 'white-space-line', how: 'a line of white space instead of the blank line', build: (zip) => [...NAMED, B64, '   \t', base64Lines(zip)].join(CRLF) },
  { cls: 'separator', key: 'blank-first', how: 'a blank line before the part\'s header: header text and data as body', build: (zip) => ['', ...NAMED, B64, '', base64Lines(zip)].join(CRLF) },
  { cls: 'separator', key: 'no-blank', how: 'no blank line between the header and the data', build: (zip) => [...NAMED, B64, base64Lines(zip)].join(CRLF) },
  { cls: 'separator', key: 'binary-after-text', how: 'zip bytes after a line of text in a binary body', build: (_zip, _rnd, raw) => part([...NAMED, 'Content-Transfer-Encoding: binary'], `Files follow.\r\n${raw.toString('latin1')}`) },
  { cls: 'separator', key: '7bit-after-text', how: 'zip bytes after a line of text in a 7bit body', build: (_zip, _rnd, raw) => part([...NAMED, 'Content-Transfer-Encoding: 7bit'], `Files follow.\r\n${raw.toString('latin1')}`) },
  { cls: 'separator', key: 'no-cte-after-text', how: 'zip bytes after text, no CTE field', build: (_zip, _rnd, raw) => part(NAMED, `Files follow.\r\n${raw.toString('latin1')}`) },
  // 5. non-MIME encodings
  { cls: 'non-mime', key: 'x-uuencode', how: 'CTE x-uuencode on application/octet-stream', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: x-uuencode'], ['begin 644 files.dat', ...uuLines(zip), 'end'].join(CRLF)) },
  { cls: 'non-mime', key: 'uuencode', how: 'CTE uuencode (no x-)', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: uuencode'], ['begin 644 files.dat', ...uuLines(zip), 'end'].join(CRLF)) },
  { cls: 'non-mime', key: 'x-uue-no-begin', how: 'CTE x-uue, no begin line', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: x-uue'], [...uuLines(zip), 'end'].join(CRLF)) },
  { cls: 'non-mime', key: 'uu-no-begin-7bit', how: 'uuencode without a begin line in a 7bit part', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: 7bit'], [...uuLines(zip), 'end'].join(CRLF)) },
  { cls: 'non-mime', key: 'yenc-part', how: 'yEnc in an 8bit part', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: 8bit'], yEnc(zip, 'files.dat')) },
  { cls: 'non-mime', key: 'yenc-text', how: 'yEnc after text in a text/plain part', build: (zip) => part(['Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit'], `The file:\r\n\r\n${yEnc(zip, 'files.dat')}`) },
  { cls: 'non-mime', key: 'x-gzip64', how: 'CTE x-gzip64 (gzip of the zip, base64)', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: x-gzip64'], base64Lines(zlib.gzipSync(zip))) },
  { cls: 'non-mime', key: 'uu-in-text', how: 'uuencoded in the text part (begin 644 files.dat)', build: (zip) => part(['Content-Type: text/plain; charset=us-ascii'], ['The file:', '', 'begin 644 files.dat', ...uuLines(zip), 'end', '', 'Alice'].join(CRLF)) },
  { cls: 'non-mime', key: 'begin-base64-in-text', how: 'begin-base64 (uuencode -m) in the text part', build: (zip) => part(['Content-Type: text/plain; charset=us-ascii'], ['The file:', '', 'begin-base64 644 files.dat', ...lines(zip.toString('base64'), 60), '====', '', 'Alice'].join(CRLF)) },
  // 6. a part that claims to be multipart
  { cls: 'claims-multipart', key: 'mixed-nothere', how: 'multipart/mixed; boundary=nothere holding base64', build: (zip) => part(['Content-Type: multipart/mixed; boundary=nothere', 'Content-Disposition: attachment; filename="files.dat"', B64], base64Lines(zip)) },
  { cls: 'claims-multipart', key: 'mixed-nothere-no-cte', how: 'multipart/mixed; boundary=nothere, base64 lines, no CTE', build: (zip) => part(['Content-Type: multipart/mixed; boundary=nothere'], base64Lines(zip)) },
  { cls: 'claims-multipart', key: 'related-named', how: 'multipart/related with a name, boundary never used', build: (zip) => part(['Content-Type: multipart/related; boundary="nothere"; name="files.dat"', B64], base64Lines(zip)) },
  { cls: 'claims-multipart', key: 'no-boundary', how: 'multipart/mixed without a boundary, holding base64', build: (zip) => part(['Content-Type: multipart/mixed', 'Content-Disposition: attachment; filename="files.dat"', B64], base64Lines(zip)) },
]

/** Content-Type of the message with this boundary parameter text, delimiter lines with this reading of it. */
const boundary = (key: string, how: string, params: string, delimiter: string): ShapeTrick => ({
  cls: 'boundary', key, how,
  build: (attachment) => ({ head: [`Content-Type: multipart/mixed; ${params}`], body: multipartBody(delimiter, [TEXT_PART, attachment]) }),
})

const topLevel = (key: string, how: string, head: string[], noMimeVersion = false): ShapeTrick => ({
  cls: 'top-level-type', key, how, build: (attachment) => ({ head, body: multipartBody('q1', [TEXT_PART, attachment]), noMimeVersion }),
})

const delimiter = (key: string, how: string, body: (attachment: string) => string): ShapeTrick => ({
  cls: 'delimiter', key, how, build: (attachment) => ({ head: ['Content-Type: multipart/mixed; boundary="q1"'], body: body(attachment) }),
})

const SHAPE_TRICKS: ShapeTrick[] = [
  // 7. boundary parameter syntax
  boundary('single-quotes-stripped', 'boundary=\'q1\', delimiters --q1', 'boundary=\'q1\'', 'q1'),
  boundary('single-quotes-kept', 'boundary=\'q1\', delimiters --\'q1\'', 'boundary=\'q1\'', '\'q1\''),
  boundary('backslash-unescaped', 'boundary=q\\_1, delimiters --q_1', 'boundary=q\\_1', 'q_1'),
  boundary('backslash-literal', 'boundary=q\\_1, delimiters --q\\_1', 'boundary=q\\_1', 'q\\_1'),
  boundary('quoted-backslash-literal', 'boundary="q\\_1", delimiters --q\\_1', 'boundary="q\\_1"', 'q\\_1'),
  boundary('escaped-semicolon', 'boundary=a\\;b, delimiters --a;b', 'boundary=a\\;b', 'a;b'),
  boundary('escaped-semicolon-literal', 'boundary=a\\;b, delimiters --a\\;b', 'boundary=a\\;b', 'a\\;b'),
  boundary('boundary-in-value-inner', 'boundary=boundary=q1, delimiters --q1', 'boundary=boundary=q1', 'q1'),
  boundary('boundary-in-value-whole', 'boundary=boundary=q1, delimiters --boundary=q1', 'boundary=boundary=q1', 'boundary=q1'),
  boundary('rfc2231-beside-plain', 'boundary="p1" and boundary*=us-ascii\'\'s1, delimiters --s1', 'boundary="p1"; boundary*=us-ascii\'\'s1', 's1'),
  boundary('plain-beside-rfc2231', 'boundary*=us-ascii\'\'s1 and boundary="p1", delimiters --p1', 'boundary*=us-ascii\'\'s1; boundary="p1"', 'p1'),
  boundary('rfc2231-sections-beside-plain', 'boundary="p1" and boundary*0/*1 "s" "1", delimiters --s1', 'boundary="p1"; boundary*0="s"; boundary*1="1"', 's1'),
  boundary('utf-16-no-bom', 'boundary*=utf-16\'\' big-endian without BOM, delimiters --q1', `boundary*=utf-16''${percentUtf16be('q1')}`, 'q1'),
  boundary('utf-16-beside-plain', 'boundary="x0" and a UTF-16BE boundary*, delimiters --q1', `boundary="x0"; boundary*=utf-16''${percentUtf16be('q1')}`, 'q1'),
  boundary('two-params-last', 'two boundary parameters, delimiters by the last', 'boundary="a1"; boundary="b2"', 'b2'),
  boundary('two-params-first', 'two boundary parameters, delimiters by the first', 'boundary="a1"; boundary="b2"', 'a1'),
  boundary('comment-after', 'boundary=q1(note), delimiters --q1', 'boundary=q1(note)', 'q1'),
  boundary('comment-before', 'boundary=(note)q1, delimiters --q1', 'boundary=(note)q1', 'q1'),
  boundary('comment-kept', 'boundary=q1(note), delimiters --q1(note)', 'boundary=q1(note)', 'q1(note)'),
  // 8. the top-level Content-Type
  topLevel('text-then-multipart', 'two Content-Type fields, text/plain first, multipart last', ['Content-Type: text/plain; charset=us-ascii', 'Content-Type: multipart/mixed; boundary="q1"']),
  topLevel('multipart-then-text', 'two Content-Type fields, multipart first, text/plain last', ['Content-Type: multipart/mixed; boundary="q1"', 'Content-Type: text/plain; charset=us-ascii']),
  topLevel('x-multipart', 'Content-Type x-multipart/mixed', ['Content-Type: x-multipart/mixed; boundary="q1"']),
  topLevel('after-bare-cr', 'the multipart Content-Type after a bare CR on the X-Mailer line', ['X-Mailer: Mailer 2.1\rContent-Type: multipart/mixed; boundary="q1"']),
  topLevel('after-bare-cr-with-text', 'text/plain, then a multipart Content-Type after a bare CR', ['Content-Type: text/plain; charset=us-ascii', 'X-Mailer: Mailer 2.1\rContent-Type: multipart/mixed; boundary="q1"']),
  topLevel('no-semicolon', 'Content-Type multipart/mixed boundary="q1" without the semicolon', ['Content-Type: multipart/mixed boundary="q1"']),
  topLevel('no-mime-version', 'multipart without MIME-Version', ['Content-Type: multipart/mixed; boundary="q1"'], true),
  // 9. delimiter lines
  delimiter('suffix', 'the attachment\'s delimiter is --q1X', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1X', a, '--q1--', ''].join(CRLF)),
  delimiter('space-suffix', 'the attachment\'s delimiter is --q1 X', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1 X', a, '--q1--', ''].join(CRLF)),
  delimiter('one-dash', 'the attachment\'s delimiter is --q1-', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1-', a, '--q1--', ''].join(CRLF)),
  delimiter('bare-cr-before', 'a bare CR, not CRLF, before the attachment\'s delimiter', (a) => [PREAMBLE, '--q1', `${TEXT_PART}\r--q1`, a, '--q1--', ''].join(CRLF)),
  delimiter('bare-cr-after', 'the attachment\'s delimiter ends in CR CR LF', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1\r', a, '--q1--', ''].join(CRLF)),
  delimiter('part-after-close', 'the zip part after the close delimiter, opened with --q1', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1--', '--q1', a, '--q1--', ''].join(CRLF)),
  delimiter('epilogue', 'the zip part in the epilogue, no delimiter', (a) => [PREAMBLE, '--q1', TEXT_PART, '--q1--', a, ''].join(CRLF)),
]

/** File name tricks over a PDF: the banned name itself hidden (G1B), or a harmless one in the same place. */
function fileName(key: string, how: string, headers: (name: string) => string[]): { key: string; how: string; build: (name: string) => string } {
  return { key, how, build: (name) => part([...headers(name), B64], base64Lines(Buffer.from(PDF, 'latin1'))) }
}

const FILE_NAME_TRICKS = [
  fileName('two-content-types', 'two Content-Type fields, the real name in the second', (n) => ['Content-Type: application/pdf; name="invoice.pdf"', `Content-Type: application/octet-stream; name="${n}"`, 'Content-Disposition: attachment']),
  fileName('two-dispositions', 'two Content-Disposition fields, the real name in the second', (n) => ['Content-Type: application/pdf', 'Content-Disposition: attachment; filename="invoice.pdf"', `Content-Disposition: attachment; filename="${n}"`]),
  fileName('rfc2231-out-of-order', 'RFC 2231 filename sections out of order', (n) => ['Content-Type: application/pdf', `Content-Disposition: attachment; filename*1=${n.slice(8)}; filename*0=${n.slice(0, 8)}`]),
  fileName('rfc2231-out-of-order-name', 'RFC 2231 name sections out of order', (n) => [`Content-Type: application/pdf; name*1="${n.slice(8)}"; name*0="${n.slice(0, 8)}"`, 'Content-Disposition: attachment']),
  fileName('quote-then-extension', 'filename="invoice".com', (n) => ['Content-Type: application/pdf', `Content-Disposition: attachment; filename="${n.slice(0, 7)}"${n.slice(7)}`]),
  fileName('single-quotes', 'filename=\'invoice.com\'', (n) => ['Content-Type: application/pdf', `Content-Disposition: attachment; filename='${n}'`]),
  fileName('semicolon-inside', 'name=inv;oice.com', (n) => [`Content-Type: application/pdf; name=${n.slice(0, 3)};${n.slice(3)}`, 'Content-Disposition: attachment']),
  fileName('utf-16-rfc2231', 'RFC 2231 filename in UTF-16BE without BOM', (n) => ['Content-Type: application/pdf', `Content-Disposition: attachment; filename*=utf-16''${percentUtf16be(n)}`]),
  fileName('utf-16-encoded-word', 'encoded word =?utf-16?B?...?= in UTF-16BE without BOM', (n) => [`Content-Type: application/pdf; name="=?utf-16?B?${utf16be(n).toString('base64')}?="`, 'Content-Disposition: attachment']),
]

const partTrick = (key: string): PartTrick => {
  const t = PART_TRICKS.find((p) => p.key === key)
  if (!t) throw new Error(`no part trick ${key}`)
  return t
}
const shapeTrick = (key: string): ShapeTrick => {
  const t = SHAPE_TRICKS.find((s) => s.key === key)
  if (!t) throw new Error(`no shape trick ${key}`)
  return t
}

// Two classes at once: a part trick inside a message shape trick, or two part tricks on one part.
const COMBINED_SHAPES: Array<[string, string]> = [
  ['7bit-then-base64', 'single-quotes-stripped'],
  ['junk-every-few', 'text-then-multipart'],
  ['soft-break-every-byte', 'suffix'],
  ['blank-first', 'boundary-in-value-inner'],
  ['yenc-part', 'x-multipart'],
  ['mixed-nothere', 'part-after-close'],
  ['x-uue-no-begin', 'bare-cr-before'],
  ['x-gzip64', 'rfc2231-beside-plain'],
  ['no-colon', 'epilogue'],
  ['junk-line', 'two-params-last'],
  ['invalid-before', 'comment-after'],
  ['dash-underscore', 'utf-16-no-bom'],
  ['binary-after-text', 'after-bare-cr'],
]

const COMBINED_PARTS: Array<{ key: string; how: string; build: (zip: Buffer, rnd: () => number) => string }> = [
  { key: 'x-base64+junk', how: 'CTE x-base64 over base64 with junk characters', build: (zip, rnd) => part([...NAMED, 'Content-Transfer-Encoding: x-base64'], sprinkle(base64Lines(zip), '#*', [2, 6], rnd)) },
  { key: 'list+mid-stream-pad', how: 'CTE "base64, quoted-printable" over padded chunks', build: (zip) => part([...NAMED, 'Content-Transfer-Encoding: base64, quoted-printable'], paddedChunks(zip, [10, 8]).join(CRLF)) },
  { key: 'claims-multipart+uneven', how: 'multipart/mixed; boundary=nothere over base64 lines of uneven length', build: (zip, rnd) => part(['Content-Type: multipart/mixed; boundary=nothere', B64], unevenLines(zip.toString('base64'), 9, 70, rnd)) },
  { key: 'two-dispositions+7bit-then-base64', how: 'an innocent name first, invoice.com second, CTE 7bit then base64', build: (zip) => part(['Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="files.dat"', 'Content-Disposition: attachment; filename="invoice.com"', 'Content-Transfer-Encoding: 7bit', B64], base64Lines(zip)) },
]

// --- ordinary mail that only looks like a trick ------------------------------------

function ordinary(): Array<{ key: string; how: string; shape: Shape }> {
  const rnd = mulberry32(1604)
  const noise = Buffer.from(Array.from({ length: 600 }, () => Math.floor(rnd() * 256)))
  // a photo's bytes that hold a zip local header's signature by chance, garbage after it
  const pkNoise = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), noise.subarray(0, 200), Buffer.from('PK\x03\x04', 'latin1'), noise.subarray(200)])
  const docx = writeZip([
    { name: '[Content_Types].xml', data: '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' },
    { name: 'word/document.xml', data: '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>' },
  ])
  const text = (body: string): Shape => ({ head: ['Content-Type: text/plain; charset=us-ascii'], body: `${body}\r\n` })
  const pdf = part(['Content-Type: application/pdf; name="report.pdf"', 'Content-Disposition: attachment; filename="report.pdf"', B64], base64Lines(Buffer.from(PDF, 'latin1')))
  const inner = ['From: Carol <carol@partner.example>', 'To: Alice <alice@sender.example>', 'Subject: minutes', 'Date: Fri, 27 Nov 2026 09:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', 'The minutes of Thursday.', '-- ', 'Carol'].join(CRLF)
  return [
    { key: 'begin-644-prose', how: 'prose that mentions begin 644 notes.txt', shape: text('To send it uuencoded, the file starts with a line like "begin 644 notes.txt" and ends with "end".') },
    { key: 'begin-644-line', how: 'a line begin 644 notes.txt followed by prose', shape: text('The uuencode output looks like this:\r\n\r\nbegin 644 notes.txt\r\n(the encoded lines go here)\r\nend\r\n\r\nThat is all there is to it.') },
    { key: 'base64-text', how: 'base64 text that is no zip', shape: standard(part(['Content-Type: text/plain; charset=utf-8; name="notes.txt"', 'Content-Disposition: attachment; filename="notes.txt"', B64], base64Lines(Buffer.from('Meeting notes\r\n\r\nAgenda: budget, hiring, the new office.\r\n'.repeat(8))))) },
    { key: 'base64-noise', how: 'base64 of random bytes that are no zip', shape: standard(part(['Content-Type: application/octet-stream; name="data.bin"', 'Content-Disposition: attachment; filename="data.bin"', B64], base64Lines(noise))) },
    { key: 'pdf', how: 'a PDF attachment', shape: standard(pdf) },
    { key: 'zip-of-pdf', how: 'a zip of a PDF attached the ordinary way', shape: standard(part(['Content-Type: application/zip; name="report.zip"', 'Content-Disposition: attachment; filename="report.zip"', B64], base64Lines(BENIGN_ZIP))) },
    { key: 'signature', how: 'a "-- " signature line in the text part', shape: { head: ['Content-Type: multipart/mixed; boundary="q1"'], body: multipartBody('q1', [part(['Content-Type: text/plain; charset=us-ascii'], 'Hello Bob,\r\n\r\nthe report.\r\n\r\n-- \r\nAlice Example\r\nSales'), pdf]) } },
    { key: 'original-message', how: '"-----Original Message-----" in a reply', shape: text('Thanks, agreed.\r\n\r\n-----Original Message-----\r\nFrom: Bob\r\nSent: Friday\r\nSubject: plan\r\n\r\nShall we go ahead?\r\n\r\n-----Original Message-----\r\nFrom: Alice\r\n\r\nHere is the plan.') },
    { key: 'forwarded', how: 'a forwarded message (message/rfc822)', shape: standard(part(['Content-Type: message/rfc822', 'Content-Disposition: inline'], inner)) },
    { key: 'forwarded-inline', how: 'a message forwarded inline', shape: text('FYI\r\n\r\n---------- Forwarded message ---------\r\nFrom: Carol <carol@partner.example>\r\nDate: Fri, 27 Nov 2026\r\nSubject: minutes\r\n\r\nThe minutes of Thursday.') },
    { key: 'pk-prose', how: 'text mentioning "PK" and "UEsDB"', shape: text('The PK column is the primary key. A zip file in base64 starts with UEsDB, its first bytes are PK 03 04, and PK stands for Phil Katz.') },
    { key: 'dash-lines', how: 'lines starting with -- (command flags) in a multipart text part', shape: { head: ['Content-Type: multipart/mixed; boundary="q1"'], body: multipartBody('q1', [part(['Content-Type: text/plain; charset=us-ascii'], 'Run it with\r\n--verbose\r\n--quiet\r\n--\r\nand see.'), pdf]) } },
    { key: 'qp-text', how: 'quoted-printable text with a lone "=" and soft breaks', shape: { head: ['Content-Type: text/plain; charset=iso-8859-1', QP], body: 'Caf=E9 prices: 2 =3D 2, and a=\r\nlone = sign.\r\n' } },
    { key: 'docx', how: 'a Word document (a zip by its content)', shape: standard(part(['Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="report.docx"', 'Content-Disposition: attachment; filename="report.docx"', B64], base64Lines(docx))) },
    { key: 'pk-in-photo', how: 'a photo whose bytes hold PK\\3\\4 by chance', shape: standard(part(['Content-Type: image/jpeg; name="photo.jpg"', 'Content-Disposition: attachment; filename="photo.jpg"', B64], base64Lines(pkNoise))) },
    { key: 'pk-in-noise-disputed', how: 'random bytes holding PK\\3\\4, sent x-base64 with junk characters (a disputed reading finds the signature)', shape: standard(part(['Content-Type: application/octet-stream; name="data.bin"', 'Content-Transfer-Encoding: x-base64'], sprinkle(base64Lines(pkNoise), '#*', [3, 7], rnd))) },
    { key: 'alternative', how: 'multipart/alternative text and HTML', shape: { head: ['Content-Type: multipart/alternative; boundary="alt"'], body: multipartBody('alt', [part(['Content-Type: text/plain; charset=us-ascii'], 'Hello.'), part(['Content-Type: text/html; charset=us-ascii'], '<p>Hello.</p>')]) } },
  ]
}

// --- all of them -------------------------------------------------------------------------

function seedOf(key: string): number {
  let h = 2166136261
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  return h >>> 0
}

/** Every disguise, hostile and benign, in a fixed order; the same bytes on every call. */
export function disguises(): Disguise[] {
  const out: Disguise[] = []
  const rawHostile = wireSafeZip('payload.com', PROGRAM)
  // "report.pdf" is 10 octets long: a LF in the name length fields
  const rawBenign = wireSafeZip('q3report.pdf', Buffer.from(PDF, 'latin1'))
  const both = (cls: DisguiseClass, key: string, how: string, shape: (hostile: boolean) => Shape, verdict: 'G1A' | 'G1B' = 'G1A'): void => {
    const name = `${cls}/${key}`
    out.push({ cls, name, how, hostile: true, verdict, message: mail(name, 'the files', shape(true)) })
    out.push({ cls, name: `${name}/benign`, how: `${how} (benign twin)`, hostile: false, message: mail(`${name}/benign`, 'the files', shape(false)) })
  }
  const attachment = (t: PartTrick, hostile: boolean): string =>
    t.build(hostile ? HOSTILE_ZIP : BENIGN_ZIP, mulberry32(seedOf(t.key)), hostile ? rawHostile : rawBenign)

  for (const t of PART_TRICKS) both(t.cls, t.key, t.how, (h) => standard(attachment(t, h)))
  for (const s of SHAPE_TRICKS) both(s.cls, s.key, s.how, (h) => s.build(plainAttachment(h ? HOSTILE_ZIP : BENIGN_ZIP)))
  for (const f of FILE_NAME_TRICKS) both('file-name', f.key, f.how, (h) => standard(f.build(h ? 'invoice.com' : 'invoice.pdf')), 'G1B')
  for (const [p, s] of COMBINED_SHAPES) {
    const t = partTrick(p)
    const sh = shapeTrick(s)
    both('combined', `${p}+${s}`, `${t.how}; ${sh.how}`, (h) => sh.build(attachment(t, h)))
  }
  for (const c of COMBINED_PARTS) {
    // the benign twin keeps the trick but not the banned name
    both('combined', c.key, c.how, (h) => {
      const text = c.build(h ? HOSTILE_ZIP : BENIGN_ZIP, mulberry32(seedOf(c.key)))
      return standard(h ? text : text.replace('invoice.com', 'invoice.pdf'))
    })
  }
  for (const o of ordinary()) out.push({ cls: 'ordinary', name: `ordinary/${o.key}`, how: o.how, hostile: false, message: mail(`ordinary/${o.key}`, 'hello', o.shape) })
  return out
}
