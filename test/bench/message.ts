// The messages the load generator sends. Small sizes are smtp-source's own
// plain text message (-l); from ZIP_FROM bytes up, the message is a
// multipart/mixed one carrying a zip attachment (base64) that holds one PDF,
// so the content checks do what they do for real mail with an archive:
// find the part, decode it, read the archive's directory. The file is
// written once per size, with LF line ends (smtp-source sends each line with
// CRLF and dot-stuffs it, and so does the Node client).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { zipOf, randomBytes } from '../rig/zip-corpus'
import { onCleanup } from './cleanup'
import { FROM, HELO, TO } from './load'

/** Sizes from here up carry a zip attachment; smaller ones are plain text. */
export const ZIP_FROM = 64 * 1024

export interface BenchMessage {
  /** Bytes as sent, LF line ends; undefined: smtp-source's own message of that size. */
  text?: string
  /** For the report: what the message is. */
  label: string
}

const BOUNDARY = 'bench-boundary-7f3a'

// A PDF as a mail client would attach it: a header, an object with a
// compressed (here: random, so incompressible) stream, a trailer.
function pdf(bytes: number): Buffer {
  const head = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Length 0 /Filter /FlateDecode >>\nstream\n', 'latin1')
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1')
  return Buffer.concat([head, randomBytes(0x5eed, Math.max(0, bytes - head.length - tail.length)), tail])
}

function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64')
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76))
  return lines.join('\n')
}

function withZip(pdfBytes: number): string {
  const zip = zipOf({ 'report-2024-q3.pdf': pdf(pdfBytes) })
  return [
    `From: Alice <${FROM}>`,
    `To: <${TO}>`,
    'Subject: quarterly report',
    'Date: Tue, 01 Oct 2024 09:30:00 +0000',
    `Message-Id: <bench.report@${HELO}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'Hello Bob,',
    '',
    'the report for the third quarter is attached.',
    '',
    'Alice',
    '',
    `--${BOUNDARY}`,
    'Content-Type: application/zip; name="report-2024-q3.zip"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="report-2024-q3.zip"',
    '',
    base64Lines(zip),
    `--${BOUNDARY}--`,
    '',
  ].join('\n')
}

/** The message of about `size` bytes (as sent, with CRLF line ends). */
export function benchMessage(size: number): BenchMessage {
  if (size < ZIP_FROM) return { label: "smtp-source's plain text message" }
  // Base64 with CRLF every 76 characters: about 4/3 × 78/76 of the zip.
  let pdfBytes = Math.round(((size - 1000) * 3 * 76) / (4 * 78))
  let text = withZip(pdfBytes)
  for (let i = 0; i < 5; i++) {
    const sent = Buffer.byteLength(text) + text.split('\n').length
    const off = size - sent
    if (Math.abs(off) < 80) break
    pdfBytes += Math.round((off * 3 * 76) / (4 * 78))
    text = withZip(pdfBytes)
  }
  return { text, label: `multipart/mixed, a text part and a zip attachment (base64) holding one ${Math.round(pdfBytes / 1024)} KB PDF` }
}

/** Writes the message for smtp-source -F; the file goes at the end of the run. */
export function messageFile(size: number, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-bench-msg-'))
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, `message-${size}.eml`)
  fs.writeFileSync(file, text)
  return file
}
