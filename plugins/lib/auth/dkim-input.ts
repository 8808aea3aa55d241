// What mailauth's DKIM verifier is given, bounded: the signatures it may
// verify, and the message as a stream that gives Haraka's event loop a turn
// between chunks.
//
// mailauth's dkimVerify, handed a Buffer, writes it in 64 KB chunks, but
// each next chunk is written on the stream's 'drain', which comes in the same
// turn of the event loop: a 25 MB message was hashed in one synchronous
// stretch of about 250 ms (plain text) to 16 s (bare LFs, one line per LF).
// Its relaxed body hash also joins a line's pieces again for every chunk, so
// one very long line costs its length squared.
import { Readable } from 'node:stream'
import { HeaderFacts, ParsedHeader } from './headers'

/** Bytes handed over per turn of the event loop: measured, at most a few ms of hashing each with 10 signatures. */
export const CHUNK_BYTES = 8 * 1024
/**
 * A signature whose h= names more fields than this is not verified: h= is
 * written by the sender, and each name is looked up among all header fields.
 * Real signers name a few dozen at most.
 */
export const MAX_SIGNED_FIELDS = 256
/**
 * A body line longer than this leaves every signature unverified: the body
 * hash's cost grows with the square of a line's length. RFC 5322 2.1.1 allows
 * 998 bytes, and Haraka breaks DATA lines at 992 by default.
 */
export const MAX_LINE_BYTES = 64 * 1024

/**
 * A header section of more lines than this leaves every signature
 * unverified: the verifier reads the header with mailauth's parseHeaders,
 * whose cost grows with the square of the folded lines (10,000: about
 * 0.1 s in one stretch). Haraka itself parses 1000 ([headers] max_lines).
 */
export const MAX_VERIFY_HEADER_LINES = 3000

const LF = 0x0a
const CR = 0x0d

/** A signature not handed to the verifier, and why (for the facts and the log). */
export interface Skipped {
  domain: string
  selector?: string
  why: string
}

const SIGNATURES = new Set(['dkim-signature', 'arc-message-signature'])

function tag(field: ParsedHeader, name: string): string | undefined {
  // The field's own text after its name; tags are "name=value;" (RFC 6376 3.2).
  const text = field.line.toString('latin1')
  const re = new RegExp(`(?:^|;)[ \\t\\r\\n]*${name}[ \\t\\r\\n]*=([^;]*)`, 'i')
  const m = re.exec(text.slice(text.indexOf(':') + 1))
  return m?.[1].replace(/[ \t\r\n]+/g, '')
}

/** True when a line of the body (from `start`) is longer than `limit`; two native searches per window. */
export function hasLongLine(raw: Buffer, start: number, limit = MAX_LINE_BYTES): boolean {
  const window = Math.min(limit, CHUNK_BYTES)
  // Bytes since the last LF; a line within one window is shorter than the limit.
  let run = 0
  for (let pos = start; pos < raw.length; pos += window) {
    const part = raw.subarray(pos, pos + window)
    const first = part.indexOf(LF)
    if (first < 0) {
      run += part.length
      if (run > limit) return true
      continue
    }
    if (run + first > limit) return true
    run = part.length - 1 - part.lastIndexOf(LF)
  }
  return run > limit
}

/**
 * The message as the verifier gets it: the first `max` DKIM-Signature and
 * ARC-Message-Signature fields, none whose h= names more than
 * MAX_SIGNED_FIELDS, and none at all when a body line is over MAX_LINE_BYTES
 * or the header section over MAX_VERIFY_HEADER_LINES.
 * The others are left out of the header handed over, so they are never
 * verified and count as not passing. Unchanged when nothing is left out.
 */
export function signaturesToVerify(raw: Buffer, head: HeaderFacts, max: number): { raw: Buffer; skipped: Skipped[]; handed: string[]; verify: boolean } {
  const skipped: Skipped[] = []
  // d= of the DKIM-Signature fields handed over.
  const handed: string[] = []
  const longLine = hasLongLine(raw, head.end)
  const longHeader = head.lines > MAX_VERIFY_HEADER_LINES
  let seen = 0
  // Whether any signature is left to verify: otherwise the verifier is not run at all.
  let verify = false
  const kept = head.fields.filter((field) => {
    if (!field.key || !SIGNATURES.has(field.key)) return true
    const skip = (why: string): false => {
      const row: Skipped = { domain: (tag(field, 'd') ?? '').toLowerCase(), why }
      const selector = tag(field, 's')
      if (selector) row.selector = selector
      skipped.push(row)
      return false
    }
    if (longHeader) return skip(`not verified: the header section has ${head.lines} lines, more than ${MAX_VERIFY_HEADER_LINES}`)
    if (longLine) return skip(`not verified: a body line is longer than ${MAX_LINE_BYTES} bytes`)
    if (++seen > max) return skip(`not verified: past [dmarc] max_dkim_signatures=${max}`)
    const h = tag(field, 'h')
    if (h !== undefined && h.split(':').length > MAX_SIGNED_FIELDS) return skip(`not verified: h= names more than ${MAX_SIGNED_FIELDS} fields`)
    if (field.key === 'dkim-signature') handed.push((tag(field, 'd') ?? '').toLowerCase())
    verify = true
    return true
  })
  if (!skipped.length) return { raw, skipped, handed, verify }
  // The same fields as mailauth's parser would read them, and the body as it was.
  const header = Buffer.from(kept.map((f) => f.line.toString('binary')).join('\r\n') + '\r\n\r\n', 'binary')
  return { raw: Buffer.concat([header, raw.subarray(head.end)]), skipped, handed, verify }
}

/**
 * Every bare LF made CRLF, as mailauth's own parser does before anything
 * else (so the result is the same), but with native string code instead of
 * one await per line. `prev` is the byte before the chunk.
 */
export function withCrlf(chunk: Buffer, prev: number | undefined): Buffer {
  const first = chunk.indexOf(LF)
  if (first < 0) return chunk
  const text = chunk.toString('latin1')
  // An LF right after the previous chunk's CR is not bare; lookbehind cannot see it.
  const head = first === 0 && prev === CR ? 1 : 0
  const fixed = text.slice(head).replace(/(?<!\r)\n/g, '\r\n')
  if (fixed.length === text.length - head) return chunk
  return Buffer.from(head ? `\n${fixed}` : fixed, 'latin1')
}

/**
 * The message in CHUNK_BYTES pieces, one per turn of the event loop
 * (setImmediate), bare LFs made CRLF. Ends early, with an error, once
 * `stopped()` says nobody waits for the result any more.
 */
export function messageStream(raw: Buffer, stopped: () => boolean): Readable {
  let pos = 0
  return new Readable({
    read() {
      setImmediate(() => {
        if (stopped()) {
          this.destroy(new Error('DKIM verification stopped: time limit of the evaluation reached'))
          return
        }
        if (pos >= raw.length) {
          this.push(null)
          return
        }
        const prev = pos > 0 ? raw[pos - 1] : undefined
        const chunk = raw.subarray(pos, pos + CHUNK_BYTES)
        pos += chunk.length
        this.push(withCrlf(chunk, prev))
      })
    },
  })
}
