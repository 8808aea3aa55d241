// Lenient decoders for the alternative readings of a disputed message: each
// reads a byte range the way the most forgiving client would, so that a file
// one client shows cannot hide behind the strict reading. All of them are
// linear, never build more than maxBytes of output (the output is cut there,
// not refused), and never throw on any input; only the deadline throws.
import { constants as bufferConstants } from 'node:buffer'
import * as zlib from 'node:zlib'
import { decodeBase64 } from '../../mime/decode'
import { hexValue } from '../../mime/hex'
import { CR, LF, SP, TAB } from '../../mime/lines'
import type { Ticker } from '../../mime/types'
import { inflateRaw } from './inflate'

const EQUALS = 0x3d
// Bytes of input (or lines) between two ticks of the deadline.
const TICK_BYTES = 1024

// RFC 4648 4 alphabet only: "-" and "_" are junk here, like every other character.
const B64 = (() => {
  const table = new Int8Array(256).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  return table
})()

// A character's 6 bits already in place for each of the four positions of a
// quantum, so that a quantum is four lookups ORed; not in the alphabet: the
// sign bit, which makes the OR negative. 4 KB in all: they stay in the
// fastest cache, where a table of character pairs (128 KB) does not.
const [Q0, Q1, Q2, Q3] = [18, 12, 6, 0].map((shift) => {
  const table = new Int32Array(256).fill(-0x80000000)
  for (let c = 0; c < 256; c++) if (B64[c] >= 0) table[c] = B64[c] << shift
  return table
})

/** buf[start, end) as a view, the bounds made whole numbers within buf: searches in it never run past end. */
function view(buf: Buffer, start: number, end: number): Buffer {
  const s = Math.min(buf.length, Math.max(0, Math.trunc(start) || 0))
  const e = Math.min(buf.length, Math.max(s, Math.trunc(end) || 0))
  return buf.subarray(s, e)
}

/** The output size allowed: maxBytes made a whole number, at most bound. */
function capOf(maxBytes: number, bound: number): number {
  return Math.max(0, Math.min(bound, Math.trunc(maxBytes) || 0))
}

/** The first n bytes of out; copied when far smaller than out, so that a few bytes do not hold a large buffer. */
function result(out: Buffer, n: number): Buffer {
  if (n === out.length) return out
  return n < out.length >> 2 ? Buffer.from(out.subarray(0, n)) : out.subarray(0, n)
}

/**
 * Base64 with EVERY character outside A-Z a-z 0-9 + / ignored ('=', '-',
 * '_', '#', spaces, line breaks, header text's punctuation alike: '=' does
 * not end or reset anything), after dropping the first `skip` (0-3)
 * alphabet characters: the four alignments. Output at most maxBytes
 * (truncated there, not undefined).
 */
export function base64AnyAlignment(buf: Buffer, start: number, end: number, skip: number, maxBytes: number, deadline?: Ticker): Buffer {
  const text = view(buf, start, end)
  // four characters make three bytes at most, whatever stands between them
  const cap = capOf(maxBytes, Math.floor((text.length * 3) / 4))
  // the alignment: the first alphabet characters dropped
  let i = 0
  for (let toSkip = Math.min(3, Math.max(0, Math.trunc(skip) || 0)); toSkip > 0 && i < text.length; i++) {
    if ((i & (TICK_BYTES - 1)) === 0) deadline?.tick()
    if (B64[text[i]] >= 0) toSkip--
  }
  const fast = nativeReading(text, i, cap, deadline)
  if (fast) return fast
  const out = Buffer.allocUnsafe(cap)
  // the characters of the quantum being read: acc holds k of them, 6 bits each
  let acc = 0
  let k = 0
  let o = 0
  while (i < text.length && o < cap) {
    deadline?.tick()
    const blockEnd = Math.min(text.length, i + TICK_BYTES)
    while (i < blockEnd) {
      if (k === 0) {
        // whole quanta of four alphabet characters, three bytes each, as long as they fit
        const stop = Math.min(blockEnd - 3, i + 4 * Math.floor((cap - o) / 3))
        while (i < stop) {
          const v = Q0[text[i]] | Q1[text[i + 1]] | Q2[text[i + 2]] | Q3[text[i + 3]]
          if (v < 0) break
          out[o] = v >>> 16
          out[o + 1] = (v >>> 8) & 0xff
          out[o + 2] = v & 0xff
          o += 3
          i += 4
        }
        if (i >= blockEnd) break
      }
      const v = B64[text[i++]]
      if (v < 0) continue
      acc = (acc << 6) | v
      if (++k === 4) {
        o = put(out, o, cap, acc, 3)
        acc = 0
        k = 0
        if (o >= cap) break
      }
    }
  }
  // a quantum left short: two characters make a byte, three make two
  if (k >= 2) o = put(out, o, cap, acc << (6 * (4 - k)), k - 1)
  return result(out, o)
}

/** The first n bytes of the 24-bit quantum v at out[o], as many as cap allows; the new end. */
function put(out: Buffer, o: number, cap: number, v: number, n: number): number {
  for (let shift = 16; n > 0 && o < cap; n--, shift -= 8) out[o++] = (v >>> shift) & 0xff
  return o
}

const DASH = 0x2d
const UNDERSCORE = 0x5f

/**
 * Node's own decoder, faster than the loop by half again, reads text[i...]
 * the same way when nothing it treats otherwise ("=" ends its reading, "-"
 * and "_" are URL-safe digits to it) stands before the last alphabet
 * character: a clean body, its padding at the end. Undefined otherwise, or
 * when the output would pass cap (the loop then cuts it there).
 */
function nativeReading(text: Buffer, i: number, cap: number, deadline?: Ticker): Buffer | undefined {
  let stop = text.length
  for (const c of [EQUALS, DASH, UNDERSCORE]) {
    const at = text.indexOf(c, i)
    if (at >= 0 && at < stop) stop = at
  }
  // Node's decoder writes only into a buffer that holds all it may make; a shorter cap is the loop's
  if (Math.floor(((stop - i) * 3) / 4) > cap) return undefined
  for (let k = stop; k < text.length; k++) {
    if ((k & (TICK_BYTES - 1)) === 0) deadline?.tick()
    if (B64[text[k]] >= 0) return undefined
  }
  deadline?.check(stop - i)
  return decodeBase64(text, i, stop, cap)
}

/**
 * Quoted-printable as the most lenient clients read it: "=XX" with hex of
 * either case a byte; "=" + optional spaces/tabs + line break a soft break;
 * an invalid escape ("=G1", "=\r" alone, "=" at the end) drops the "=" and
 * keeps what follows; line breaks kept. At most maxBytes.
 */
export function quotedPrintableLenient(buf: Buffer, start: number, end: number, maxBytes: number, deadline?: Ticker): Buffer {
  const text = view(buf, start, end)
  // never longer than the input
  const cap = capOf(maxBytes, text.length)
  const out = Buffer.allocUnsafe(cap)
  let o = 0
  let i = 0
  while (i < text.length && o < cap) {
    deadline?.tick()
    if (text[i] !== EQUALS) {
      // a run up to the next "=", copied at once (a block at a time, for the deadline)
      let stop = text.indexOf(EQUALS, i)
      if (stop < 0 || stop > i + TICK_BYTES * 64) stop = Math.min(text.length, i + TICK_BYTES * 64)
      const n = Math.min(stop - i, cap - o)
      text.copy(out, o, i, i + n)
      o += n
      i += n
      continue
    }
    // "=" and white space up to a line break: a soft break. Each white space
    // byte is looked at here for the "=" before it only, so the scan stays linear.
    let j = i + 1
    while (j < text.length && (text[j] === SP || text[j] === TAB)) j++
    if (text[j] === LF) {
      i = j + 1
      continue
    }
    if (text[j] === CR && text[j + 1] === LF) {
      i = j + 2
      continue
    }
    const hi = hexValue(text[i + 1])
    const lo = i + 2 < text.length ? hexValue(text[i + 2]) : -1
    if (hi >= 0 && lo >= 0) {
      out[o++] = (hi << 4) | lo
      i += 3
    } else {
      // not an escape: the "=" is dropped, what follows is read as it is
      i++
    }
  }
  return result(out, o)
}

/**
 * uuencode without a "begin" line: every line whose first character gives a
 * length (c-32)&63 in 1..45 consistent with the line's length (4*ceil(n/3)
 * characters after the length char, allow up to 2 trailing extra chars and
 * both " " and "`" for zero) is decoded, in order, concatenated; other
 * lines skipped. At most maxBytes.
 */
export function uudecodeLines(buf: Buffer, start: number, end: number, maxBytes: number, deadline?: Ticker): Buffer {
  const text = view(buf, start, end)
  // a line of 4k + 1 characters and its line break carries 3k bytes at most
  const cap = capOf(maxBytes, Math.floor((text.length * 3) / 4))
  const out = Buffer.allocUnsafe(cap)
  let o = 0
  let pos = 0
  while (pos < text.length && o < cap) {
    deadline?.tick()
    const lf = text.indexOf(LF, pos)
    const next = lf < 0 ? text.length : lf + 1
    let lineEnd = lf < 0 ? text.length : lf
    if (lineEnd > pos && text[lineEnd - 1] === CR) lineEnd--
    const n = (text[pos] - SP) & 63
    const need = 4 * Math.ceil(n / 3)
    const after = lineEnd - pos - 1
    if (n >= 1 && n <= 45 && after >= need && after <= need + 2 && uuCharacters(text, pos + 1, pos + 1 + need)) {
      const take = Math.min(n, cap - o)
      let written = 0
      for (let k = pos + 1; written < take; k += 4) {
        const c0 = (text[k] - SP) & 63
        const c1 = (text[k + 1] - SP) & 63
        const c2 = (text[k + 2] - SP) & 63
        const c3 = (text[k + 3] - SP) & 63
        out[o + written++] = ((c0 << 2) | (c1 >> 4)) & 0xff
        if (written < take) out[o + written++] = ((c1 << 4) | (c2 >> 2)) & 0xff
        if (written < take) out[o + written++] = ((c2 << 6) | c3) & 0xff
      }
      o += take
    }
    pos = next
  }
  return result(out, o)
}

/** Every character of text[from, to) is one uuencode writes: " " to "`". */
function uuCharacters(text: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (text[k] < 0x20 || text[k] > 0x60) return false
  return true
}

const YBEGIN = Buffer.from('=ybegin')
const YEND = Buffer.from('=yend')
const YPART = Buffer.from('=ypart')

function startsWith(text: Buffer, at: number, prefix: Buffer): boolean {
  return at + prefix.length <= text.length && text.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
}

/** The start of the line after the first "=ybegin" line at or after from; -1 when there is none. */
function afterYbegin(text: Buffer, from: number): number {
  for (let at = from; ;) {
    const i = text.indexOf(YBEGIN, at)
    if (i < 0) return -1
    if (i === 0 || text[i - 1] === LF) {
      const lf = text.indexOf(LF, i)
      return lf < 0 ? text.length : lf + 1
    }
    at = i + 1
  }
}

/**
 * yEnc (yenc.org 1.3): from each "=ybegin" line to its "=yend" line (or the
 * end), lines starting "=ypart" skipped, each byte (c - 42) & 255, "="
 * escapes the next byte as (c - 64 - 42) & 255, CR and LF dropped. All files
 * concatenated in order. Undefined when there is no "=ybegin" line. At most
 * maxBytes.
 */
export function ydecode(buf: Buffer, start: number, end: number, maxBytes: number, deadline?: Ticker): Buffer | undefined {
  const text = view(buf, start, end)
  let pos = afterYbegin(text, 0)
  if (pos < 0) return undefined
  // one byte out per byte in at most
  const cap = capOf(maxBytes, text.length)
  const out = Buffer.allocUnsafe(cap)
  let o = 0
  while (pos < text.length && o < cap) {
    deadline?.tick()
    const lf = text.indexOf(LF, pos)
    let lineEnd = lf < 0 ? text.length : lf
    if (lineEnd > pos && text[lineEnd - 1] === CR) lineEnd--
    const next = lf < 0 ? text.length : lf + 1
    if (text[pos] === EQUALS && text[pos + 1] === 0x79) {
      if (startsWith(text, pos, YEND)) {
        // between files nothing is read: on to the next "=ybegin" line
        pos = afterYbegin(text, next)
        if (pos < 0) break
        continue
      }
      if (startsWith(text, pos, YBEGIN) || startsWith(text, pos, YPART)) {
        pos = next
        continue
      }
    }
    for (let k = pos; k < lineEnd && o < cap; k++) {
      if ((k & (TICK_BYTES - 1)) === 0) deadline?.tick()
      let c = text[k]
      if (c === CR) continue
      if (c === EQUALS) {
        // an "=" ending the line (before its CR LF or LF) escapes nothing
        if (k + 1 >= lineEnd) break
        c = (text[++k] - 64) & 0xff
      }
      out[o++] = (c - 42) & 0xff
    }
    pos = next
  }
  return result(out, o)
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08])
const FLAGS_RESERVED = 0xe0
const FHCRC = 0x02
const FEXTRA = 0x04
const FNAME = 0x08
const FCOMMENT = 0x10
// What a candidate costs the work budget beyond the bytes it reads and writes.
const ATTEMPT_COST = 64
// Bytes a member is inflated by the loop before zlib takes over.
const PROBE_BYTES = 64 * 1024

/**
 * Every gzip member found by its magic (1f 8b 08) anywhere in data, at most
 * maxMembers of them, each gunzipped to at most maxBytes (zlib's
 * maxOutputLength or an inflate stream stopped there; a damaged or
 * truncated member gives what came out before the damage). Synchronous
 * (zlib.*Sync / processChunkSync are fine); a member whose header is
 * invalid is skipped.
 *
 * A member is returned when it gave at least one byte. Every candidate is
 * tried on its own, even inside an earlier member (the earlier one may be a
 * decoy that hides the next). The tries that give nothing are bounded by a
 * work budget: what all the tries read and write together stays within
 * maxMembers times (data's length + maxBytes), so that candidates laid one
 * inside another cannot make the work grow with their square.
 */
export function gunzipAnywhere(data: Buffer, maxBytes: number, maxMembers: number, deadline?: Ticker): Buffer[] {
  const members: Buffer[] = []
  const most = Math.max(0, Math.trunc(maxMembers) || 0)
  const cap = capOf(maxBytes, bufferConstants.MAX_LENGTH)
  let budget = most * (data.length + cap)
  const zeros = new Zeros(data)
  for (let at = 0; members.length < most && budget > 0;) {
    deadline?.tick()
    const p = data.indexOf(GZIP_MAGIC, at)
    if (p < 0) break
    at = p + 1
    zeros.forget(p)
    const body = gzipBodyStart(data, p, zeros)
    if (body < 0) continue
    const room = Math.min(cap, budget)
    const { out, consumed } = inflateMember(data, body, room, deadline)
    budget -= ATTEMPT_COST + consumed + out.length
    if (out.length > 0) members.push(out)
  }
  return members
}

/**
 * The loop of inflate.ts first, for the first PROBE_BYTES: junk that only
 * looks like a member fails there in microseconds (zlib's own setup costs a
 * hundred), and a small member is done. A member that goes on is inflated
 * again by zlib, several times faster; when zlib throws (the member passes
 * room, or is damaged further on) and so keeps nothing, the loop gives the
 * first room bytes, or what came before the damage.
 */
function inflateMember(data: Buffer, body: number, room: number, deadline?: Ticker): { out: Buffer; consumed: number } {
  const probe = inflateRaw(data, body, Math.min(room, PROBE_BYTES), deadline)
  if (probe.out.length < PROBE_BYTES || room <= PROBE_BYTES) return probe
  // one step of up to room bytes out (deflate makes at most 1032 of one byte in)
  deadline?.check(Math.min(room, (data.length - body) * 1032))
  try {
    const out = zlib.inflateRawSync(data.subarray(body), {
      maxOutputLength: room,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      chunkSize: 16 * 1024,
    })
    // zlib does not say how much it read; at least what the probe read
    return { out, consumed: probe.consumed }
  } catch {
    return inflateRaw(data, body, room, deadline)
  }
}

/**
 * The zero bytes of data, found by one forward sweep for all the gzip
 * headers that name a file or carry a comment: each byte is searched once,
 * however far a header's extra field sends its name ahead of the next header.
 */
class Zeros {
  private found: number[] = []
  private head = 0
  /** Every zero before this is in found. */
  private swept = 0

  constructor(private readonly data: Buffer) {}

  /** No later question starts before floor: what lies before it is forgotten. */
  forget(floor: number): void {
    while (this.head < this.found.length && this.found[this.head] < floor) this.head++
    if (this.head > 1024 && this.head * 2 > this.found.length) {
      this.found = this.found.slice(this.head)
      this.head = 0
    }
  }

  /** The first zero at or after from, or -1. */
  after(from: number): number {
    // the zeros kept are in order: a binary search among them
    let lo = this.head
    let hi = this.found.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.found[mid] < from) lo = mid + 1
      else hi = mid
    }
    if (lo < this.found.length) return this.found[lo]
    while (this.swept < this.data.length) {
      const z = this.data.indexOf(0, this.swept)
      if (z < 0) {
        this.swept = this.data.length
        break
      }
      this.found.push(z)
      this.swept = z + 1
      if (z >= from) return z
    }
    return -1
  }
}

/**
 * Where the deflate data of the gzip member at p starts (RFC 1952 2.3), past
 * the optional fields; -1 when the header is invalid or cut short.
 */
function gzipBodyStart(data: Buffer, p: number, zeros: Zeros): number {
  if (p + 10 > data.length) return -1
  const flags = data[p + 3]
  if (flags & FLAGS_RESERVED) return -1
  let q = p + 10
  if (flags & FEXTRA) {
    if (q + 2 > data.length) return -1
    q += 2 + (data[q] | (data[q + 1] << 8))
  }
  for (const field of [FNAME, FCOMMENT]) {
    if (!(flags & field)) continue
    if (q >= data.length) return -1
    const z = zeros.after(q)
    if (z < 0) return -1
    q = z + 1
  }
  if (flags & FHCRC) q += 2
  return q < data.length ? q : -1
}
