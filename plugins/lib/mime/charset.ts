// Bytes to text in a declared charset. Node's TextDecoder (WHATWG Encoding)
// knows utf-8, iso-8859-x, windows-125x, koi8, the CJK sets and more; a label
// it does not know falls back to latin1, which keeps every byte as one
// character so that an extension such as ".exe" still shows. UTF-7 (RFC
// 2152) is decoded here: the Encoding standard leaves it out, but mail
// clients still display it, so a name hidden in it must be seen. UTF-16
// without a byte-order mark reads two ways (clients differ), and callers
// that judge names ask for both.
import { isUtf8 } from 'node:buffer'
import { TextDecoder } from 'node:util'

const decoders = new Map<string, TextDecoder | null>()
// Labels come from the sender: cache only this many, so that made-up labels cannot grow the map.
const MAX_CACHED_LABELS = 64

function decoderFor(label: string): TextDecoder | null {
  const cached = decoders.get(label)
  if (cached !== undefined) return cached
  let decoder: TextDecoder | null
  try {
    decoder = new TextDecoder(label)
  } catch {
    decoder = null
  }
  if (decoders.size < MAX_CACHED_LABELS) decoders.set(label, decoder)
  return decoder
}

/** Raw 8-bit text with no declared charset: UTF-8 when it is valid UTF-8 (RFC 6532), latin1 otherwise. */
export function bytesToText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1')
}

// UTF-16 labels that name their byte order; the other UTF-16 labels
// ("utf-16", "ucs-2", "unicode", ...) do not, and the text has no byte-order
// mark when a mailer leaves it out.
const UTF16_NAMED_ORDER = new Map<string, 'utf-16le' | 'utf-16be'>([
  ['utf-16le', 'utf-16le'],
  ['unicodefeff', 'utf-16le'],
  ['utf-16be', 'utf-16be'],
  ['unicodefffe', 'utf-16be'],
])

/** The UTF-16 byte order a label names, "either" when it names none, undefined when it is not UTF-16. */
function utf16Order(label: string): 'utf-16le' | 'utf-16be' | 'either' | undefined {
  const named = UTF16_NAMED_ORDER.get(label)
  if (named) return named
  if (label === 'utf16') return 'either'
  const encoding = decoderFor(label)?.encoding
  return encoding === 'utf-16le' || encoding === 'utf-16be' ? 'either' : undefined
}

function byteOrderMark(bytes: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes.length < 2) return undefined
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le'
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be'
  return undefined
}

/**
 * UTF-16: a byte-order mark decides (clients follow it whatever the label
 * says); without one, the order the label names, else little-endian, as
 * Windows writes it, or big-endian (RFC 2781 4.3) when otherOrder is set.
 */
function decodeUtf16(bytes: Buffer, order: 'utf-16le' | 'utf-16be' | 'either', otherOrder: boolean): string {
  const mark = byteOrderMark(bytes)
  if (mark) return (decoderFor(mark) as TextDecoder).decode(bytes.subarray(2))
  const chosen = order === 'either' ? (otherOrder ? 'utf-16be' : 'utf-16le') : order
  return (decoderFor(chosen) as TextDecoder).decode(bytes)
}

/**
 * Whether bytes in this charset read two ways: UTF-16 under a label that
 * names no byte order, without a byte-order mark. decodeCharset(bytes,
 * charset, true) gives the other reading.
 */
export function hasOtherByteOrder(bytes: Buffer, charset: string | undefined): boolean {
  const label = (charset ?? '').trim().toLowerCase()
  return bytes.length >= 2 && !byteOrderMark(bytes) && utf16Order(label) === 'either'
}

/**
 * Decodes bytes in the named charset; an empty or missing name means
 * bytesToText. otherOrder: UTF-16 without a byte-order mark read
 * big-endian (see hasOtherByteOrder); no effect on other charsets.
 */
export function decodeCharset(bytes: Buffer, charset: string | undefined, otherOrder = false): string {
  const label = (charset ?? '').trim().toLowerCase()
  if (!label) return bytesToText(bytes)
  if (label === 'utf-7' || label === 'utf7' || label === 'unicode-1-1-utf-7' || label === 'x-utf-7') return decodeUtf7(bytes)
  const order = utf16Order(label)
  if (order) return decodeUtf16(bytes, order, otherOrder)
  const decoder = decoderFor(label)
  return decoder ? decoder.decode(bytes) : bytes.toString('latin1')
}

const B64_VALUES = (() => {
  const table = new Int8Array(256).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  return table
})()

/** RFC 2152: "+" starts modified base64 of UTF-16 code units, ended by "-" or any other character; "+-" is "+". */
export function decodeUtf7(bytes: Buffer): string {
  const out: string[] = []
  let i = 0
  while (i < bytes.length) {
    const c = bytes[i]
    if (c !== 0x2b) {
      out.push(String.fromCharCode(c))
      i++
      continue
    }
    i++
    if (bytes[i] === 0x2d) {
      out.push('+')
      i++
      continue
    }
    let bits = 0
    let nbits = 0
    while (i < bytes.length && B64_VALUES[bytes[i]] >= 0) {
      bits = ((bits << 6) | B64_VALUES[bytes[i]]) & 0x3fffff
      nbits += 6
      if (nbits >= 16) {
        nbits -= 16
        out.push(String.fromCharCode((bits >> nbits) & 0xffff))
      }
      i++
    }
    if (bytes[i] === 0x2d) i++
  }
  return out.join('')
}
