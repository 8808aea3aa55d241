// Content-Transfer-Encoding decoders (RFC 2045 6) that work on a byte range of
// the raw message and never build more than maxBytes: the size is known (or
// bounded) before the output buffer is made.
import { hexValue } from './hex'
import { CR, isWsp, LF } from './lines'

const EQUALS = 0x3d

// RFC 2045 6.8 alphabet, plus the URL-safe "-" and "_" (RFC 4648 5) that
// Node's own decoder also accepts; -1: not base64.
const B64 = (() => {
  const table = new Int8Array(256).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  table[0x2d] = 62
  table[0x5f] = 63
  return table
})()

// Two characters at a time: the 12 bits of any pair of alphabet characters,
// -1 when either is not one (128 KB, a quarter faster than four lookups).
const B64_PAIRS = (() => {
  const table = new Int16Array(65536).fill(-1)
  for (let a = 0; a < 256; a++) {
    if (B64[a] < 0) continue
    for (let b = 0; b < 256; b++) if (B64[b] >= 0) table[(a << 8) | b] = (B64[a] << 6) | B64[b]
  }
  return table
})()

/**
 * Bytes of base64 text made into one string for Node's decoder at most.
 * V8 keeps strings of 128 KB and more in its large-object space, where
 * making one cost about a hundred times more per byte here (560 µs for
 * 128 KB against 4 µs for 64 KB).
 */
export const NATIVE_CHUNK_BYTES = 64 * 1024

let check = Buffer.alloc(0)

/**
 * Base64 (RFC 2045 6.8) of buf[start, end); undefined when the result would
 * be longer than maxBytes. Characters outside the alphabet are ignored (6.8).
 * "=" ends a chunk and drops its leftover bits, so chunks that a mailer
 * joined each with its own padding decode one after the other. The output
 * buffer is sized by the input (four characters make at most three bytes) or
 * by maxBytes when that is smaller; `alloc` gives that buffer (at least the
 * size asked), for a caller that decodes into one it reuses.
 *
 * Node's own decoder does the work, several times faster than any loop in
 * JavaScript, on strings of at most nativeChunk bytes cut at line ends, when
 * each cut falls between two quanta, which is checked; otherwise, and past
 * the first "=" (where Node's decoder stops), the loop below does it. Both
 * give the same bytes (a unit test compares them on random input). 0 for
 * nativeChunk: the loop alone.
 */
export function decodeBase64(
  buf: Buffer, start: number, end: number, maxBytes: number,
  alloc: (size: number) => Buffer = Buffer.allocUnsafe, nativeChunk = NATIVE_CHUNK_BYTES,
): Buffer | undefined {
  if (end <= start) return Buffer.alloc(0)
  const most = Math.floor(((end - start) * 3) / 4)
  const cap = Math.min(most, maxBytes)
  const out = alloc(cap)
  // Node's decoder writes what fits and says nothing: used only where all of it fits.
  if (nativeChunk > 0 && cap === most) {
    const n = decodeNative(buf, start, end, out, nativeChunk)
    if (n >= 0) return out.subarray(0, n)
  }
  const n = decodeLoop(buf, start, end, out, 0, cap)
  return n < 0 ? undefined : out.subarray(0, n)
}

/** Node's decoder up to the first "=", the loop after it; -1 when a cut between strings falls inside a quantum. */
function decodeNative(whole: Buffer, start: number, end: number, out: Buffer, chunk: number): number {
  // a view of the range, so that no search runs past it
  const buf = whole.subarray(start, end)
  const eq = buf.indexOf(EQUALS)
  const stop = eq < 0 ? buf.length : eq
  let o = 0
  for (let at = 0; at < stop;) {
    let cut = stop
    if (stop - at > chunk) {
      const lf = buf.indexOf(LF, at + chunk)
      if (lf >= 0 && lf + 1 < stop) cut = lf + 1
    }
    const text = buf.toString('latin1', at, cut)
    const written = out.write(text, o, 'base64')
    // Between two quanta the characters so far are a multiple of four: then
    // they make a multiple of three bytes, and without the last of them one
    // byte less (with one left over, as many). The shorter text is a view of
    // the same string, not a copy; and it never ends one character short of
    // a quantum, which sends Node to a decoder ten times slower.
    if (cut < stop) {
      if (written % 3 !== 0) return -1
      let last = cut - 1
      while (last >= at && B64[buf[last]] < 0) last--
      if (last >= at) {
        if (check.length < written) check = Buffer.allocUnsafe(Math.max(written, chunk))
        if (check.write(text.substring(0, last - at), 0, 'base64') !== written - 1) return -1
      }
    }
    o += written
    at = cut
  }
  // after "=": the loop, from a new quantum as "=" leaves it
  return stop < buf.length ? decodeLoop(buf, stop + 1, buf.length, out, o, out.length) : o
}

/** The decoding loop, from buf[i] into out[o]; the new end of out, or -1 past cap. */
function decodeLoop(buf: Buffer, i: number, end: number, out: Buffer, o: number, cap: number): number {
  let bits = 0
  let nbits = 0
  while (i < end) {
    if (nbits === 0) {
      // fast path: whole quanta of four alphabet characters make three bytes each, as long as they fit
      let quanta = Math.min((end - i) >> 2, ((cap - o) / 3) | 0)
      while (quanta-- > 0) {
        const hi = B64_PAIRS[(buf[i] << 8) | buf[i + 1]]
        const lo = B64_PAIRS[(buf[i + 2] << 8) | buf[i + 3]]
        if ((hi | lo) < 0) break
        const v = (hi << 12) | lo
        out[o] = v >>> 16
        out[o + 1] = (v >>> 8) & 0xff
        out[o + 2] = v & 0xff
        o += 3
        i += 4
      }
      if (i >= end) break
    }
    const c = buf[i++]
    const v = B64[c]
    if (v >= 0) {
      bits = ((bits << 6) | v) & 0xffffff
      nbits += 6
      if (nbits >= 8) {
        nbits -= 8
        if (o >= cap) return -1
        out[o++] = (bits >> nbits) & 0xff
      }
    } else if (c === EQUALS) {
      bits = 0
      nbits = 0
    }
  }
  return o
}

/** Where the line ends (its CR or LF, or end) when only spaces and tabs stand between i and there; -1 otherwise. */
function lineEndsAfterSpace(buf: Buffer, i: number, end: number): number {
  let j = i
  while (j < end && isWsp(buf[j])) j++
  if (j >= end) return j
  if (buf[j] === LF) return j
  if (buf[j] === CR && (j + 1 >= end || buf[j + 1] === LF)) return j
  return -1
}

/**
 * Quoted-printable (RFC 2045 6.7): "=XX" is a byte (lower-case hex
 * accepted, note 1), "=" at the end of a line is a soft line break (rule 5,
 * white space before the break allowed), white space at the end of a line is
 * removed (rule 3), and an "=" that is none of these stays as it is (note 1).
 * Line breaks are kept as sent. Undefined when longer than maxBytes.
 */
export function decodeQuotedPrintable(buf: Buffer, start: number, end: number, maxBytes: number): Buffer | undefined {
  if (end <= start) return Buffer.alloc(0)
  // The output is never longer than the input, so this bound is only reached when maxBytes is smaller.
  const cap = Math.min(end - start, maxBytes)
  const out = Buffer.allocUnsafe(cap)
  let o = 0
  let i = start
  while (i < end) {
    const c = buf[i]
    if (c === EQUALS) {
      const lineEnd = lineEndsAfterSpace(buf, i + 1, end)
      if (lineEnd >= 0) {
        // soft line break: skip to the start of the next line
        i = lineEnd >= end ? end : buf[lineEnd] === CR ? Math.min(lineEnd + 2, end) : lineEnd + 1
        continue
      }
      const hi = hexValue(buf[i + 1])
      const lo = hexValue(buf[i + 2])
      if (o >= cap) return undefined
      if (i + 2 < end && hi >= 0 && lo >= 0) {
        out[o++] = hi * 16 + lo
        i += 3
      } else {
        out[o++] = c
        i++
      }
    } else if (isWsp(c)) {
      let j = i
      while (j < end && isWsp(buf[j])) j++
      if (lineEndsAfterSpace(buf, j, end) >= 0) {
        i = j
        continue
      }
      // a run of white space inside a line: copied whole, so that a long run is not scanned again per byte
      if (o + (j - i) > cap) return undefined
      buf.copy(out, o, i, j)
      o += j - i
      i = j
    } else {
      if (o >= cap) return undefined
      out[o++] = c
      i++
    }
  }
  return out.subarray(0, o)
}
