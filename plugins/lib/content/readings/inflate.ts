// Raw deflate (RFC 1951) read by hand, for gzip members found inside decoded
// bytes: the output stops at exactly maxBytes (a bomb never grows past it),
// and damaged or truncated data gives what was decoded before the damage,
// which zlib's one-shot calls throw away. Huffman codes are decoded through a
// 9-bit table, longer codes bit by bit (canonical codes, as in zlib's puff.c).
import type { Ticker } from '../../mime/types'

const EMPTY = Buffer.alloc(0)

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
const FAST_BITS = 9
// Output symbols between two ticks of the deadline: at most 258 bytes each.
const SYMBOLS_PER_TICK = 8

interface Huffman {
  /** Codes of each length 0..15. */
  count: Int16Array
  /** Symbols in canonical order. */
  symbol: Int16Array
  /** By the next FAST_BITS bits (first bit lowest): symbol << 4 | length, or -1 when the code is longer. */
  fast: Int32Array
}

/** The canonical code of the given lengths; undefined when over-subscribed (an incomplete code is kept: decoding stops on a missing code). */
function huffman(lengths: ArrayLike<number>, n: number): Huffman | undefined {
  const count = new Int16Array(16)
  for (let s = 0; s < n; s++) count[lengths[s]]++
  let left = 1
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len]
    if (left < 0) return undefined
  }
  const offs = new Int16Array(16)
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len]
  const symbol = new Int16Array(n)
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s
  // the fast table: codes are sent first bit first, so each is indexed bit-reversed
  const fast = new Int32Array(1 << FAST_BITS).fill(-1)
  let code = 0
  let index = 0
  for (let len = 1; len <= FAST_BITS; len++) {
    for (let k = 0; k < count[len]; k++) {
      let rev = 0
      for (let b = 0; b < len; b++) rev |= ((code >> b) & 1) << (len - 1 - b)
      const entry = (symbol[index + k] << 4) | len
      for (let fill = rev; fill < 1 << FAST_BITS; fill += 1 << len) fast[fill] = entry
      code++
    }
    index += count[len]
    code <<= 1
  }
  return { count, symbol, fast }
}

let fixed: { lit: Huffman; dist: Huffman } | undefined

function fixedCodes(): { lit: Huffman; dist: Huffman } {
  if (!fixed) {
    const lengths = new Uint8Array(288)
    lengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288)
    const lit = huffman(lengths, 288)
    const dist = huffman(new Uint8Array(30).fill(5), 30)
    if (!lit || !dist) throw new Error('fixed Huffman codes')
    fixed = { lit, dist }
  }
  return fixed
}

/**
 * The raw deflate stream at data[start...], inflated: the whole of it, or
 * its first maxBytes bytes, or what came out before the input ended or
 * turned invalid. `consumed` tells the caller how many input bytes were read.
 * Throws only what the deadline throws. Stopping early is a flag, not an
 * exception: a thrown value costs microseconds, and junk that only looks
 * like a gzip member stops at once, a million times in a large message.
 */
export function inflateRaw(data: Buffer, start: number, maxBytes: number, deadline?: Ticker): { out: Buffer; consumed: number } {
  const end = data.length
  const from = Math.min(end, Math.max(0, start))
  let pos = from
  let bitBuf = 0
  let bitCnt = 0
  let out = EMPTY
  let o = 0
  const cap = Math.max(0, maxBytes)
  /** The input ran out: every read since gave 0, and decoding stops. */
  let short = false

  const bits = (n: number): number => {
    while (bitCnt < n) {
      if (pos >= end) {
        short = true
        return 0
      }
      bitBuf |= data[pos++] << bitCnt
      bitCnt += 8
    }
    const v = bitBuf & ((1 << n) - 1)
    bitBuf >>>= n
    bitCnt -= n
    return v
  }

  /** The next symbol, or -1 when the input ends or holds a code the table lacks. */
  const decode = (h: Huffman): number => {
    // fill the bit buffer for the fast table where the input allows
    while (bitCnt < FAST_BITS && pos < end) {
      bitBuf |= data[pos++] << bitCnt
      bitCnt += 8
    }
    const entry = h.fast[bitBuf & ((1 << FAST_BITS) - 1)]
    if (entry >= 0 && (entry & 15) <= bitCnt) {
      bitBuf >>>= entry & 15
      bitCnt -= entry & 15
      return entry >> 4
    }
    let code = 0
    let first = 0
    let index = 0
    for (let len = 1; len <= 15; len++) {
      code |= bits(1)
      if (short) return -1
      const count = h.count[len]
      if (code - count < first) return h.symbol[index + (code - first)]
      index += count
      first = (first + count) << 1
      code <<= 1
    }
    return -1
  }

  /** Room for n more bytes, within cap: how many fit. */
  const room = (n: number): number => {
    const want = Math.min(cap, o + n)
    if (want > out.length) {
      const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(want, out.length * 2, 4096)))
      out.copy(grown, 0, 0, o)
      out = grown
    }
    return want - o
  }

  /** A block's codes up to its end-of-block; false when decoding must stop. */
  const codes = (lit: Huffman, dist: Huffman): boolean => {
    let symbols = 0
    for (;;) {
      if (++symbols % SYMBOLS_PER_TICK === 0) deadline?.tick()
      const sym = decode(lit)
      if (sym < 0) return false
      if (sym < 256) {
        if (room(1) < 1) return false
        out[o++] = sym
        continue
      }
      if (sym === 256) return true
      const ls = sym - 257
      if (ls >= 29) return false
      const len = LENGTH_BASE[ls] + bits(LENGTH_EXTRA[ls])
      const ds = decode(dist)
      if (ds < 0 || ds >= 30) return false
      const d = DIST_BASE[ds] + bits(DIST_EXTRA[ds])
      if (short || d > o) return false
      const n = room(len)
      if (n < 32) {
        for (let k = 0; k < n; k++, o++) out[o] = out[o - d]
      } else {
        // the copy may overlap what it writes: whole periods of d at a time, doubling
        for (let k = 0; k < n;) {
          const step = Math.min(n - k, d + k - (k % d))
          out.copyWithin(o + k, o - d, o - d + step)
          k += step
        }
        o += n
      }
      if (n < len) return false
    }
  }

  const stored = (): boolean => {
    bitBuf = 0
    bitCnt = 0
    if (pos + 4 > end) return false
    const len = data[pos] | (data[pos + 1] << 8)
    const nlen = data[pos + 2] | (data[pos + 3] << 8)
    if ((len ^ 0xffff) !== nlen) return false
    pos += 4
    const have = Math.min(len, end - pos)
    const n = room(have)
    data.copy(out, o, pos, pos + n)
    o += n
    pos += n
    return n === len
  }

  const dynamic = (): boolean => {
    const nlen = bits(5) + 257
    const ndist = bits(5) + 1
    const ncode = bits(4) + 4
    if (short || nlen > 286 || ndist > 30) return false
    const lengths = new Uint8Array(320)
    for (let k = 0; k < ncode; k++) lengths[CODE_LENGTH_ORDER[k]] = bits(3)
    const lencode = !short && huffman(lengths, 19)
    if (!lencode) return false
    lengths.fill(0)
    for (let k = 0; k < nlen + ndist;) {
      const sym = decode(lencode)
      if (sym < 0) return false
      if (sym < 16) {
        lengths[k++] = sym
        continue
      }
      let value = 0
      let repeat: number
      if (sym === 16) {
        if (k === 0) return false
        value = lengths[k - 1]
        repeat = 3 + bits(2)
      } else if (sym === 17) {
        repeat = 3 + bits(3)
      } else {
        repeat = 11 + bits(7)
      }
      if (short || k + repeat > nlen + ndist) return false
      lengths.fill(value, k, k + repeat)
      k += repeat
    }
    if (lengths[256] === 0) return false
    const lit = huffman(lengths.subarray(0, nlen), nlen)
    const dist = huffman(lengths.subarray(nlen, nlen + ndist), ndist)
    return lit !== undefined && dist !== undefined && codes(lit, dist)
  }

  for (let last = 0; !last;) {
    deadline?.tick()
    last = bits(1)
    const type = bits(2)
    if (short) break
    const ok = type === 0 ? stored() : type === 1 ? codes(fixedCodes().lit, fixedCodes().dist) : type === 2 ? dynamic() : false
    if (!ok) break
  }
  return { out: o === out.length ? out : out.subarray(0, o), consumed: pos - from }
}
