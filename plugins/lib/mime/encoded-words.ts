// RFC 2047 encoded words: =?charset?B?...?= and =?charset?Q?...?=. The RFC
// forbids them inside quoted parameter values (5), but real mailers put file
// names there and clients decode them, so the scanner decodes them wherever
// they appear, as those clients do.
import { decodeCharset, hasOtherByteOrder } from './charset'
import { hexValue } from './hex'

// RFC 2047 2: charset and encoded text hold no "?" and no white space.
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g
const ONLY_SPACE = /^[ \t\r\n]*$/

/** RFC 2047 4.2: "_" is a space, "=XX" a byte, anything else itself. */
function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length)
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x5f) {
      out[o++] = 0x20
    } else if (c === 0x3d && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      out[o++] = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2))
      i += 2
    } else {
      out[o++] = c & 0xff
    }
  }
  return out.subarray(0, o)
}

/** One reading of text: UTF-16 words without a byte-order mark in the order otherOrder picks; doubt when there were any. */
function decodeWords(text: string, otherOrder: boolean): { text: string; doubt: boolean } {
  const out: string[] = []
  let doubt = false
  let last = 0
  let pending: { charset: string; bytes: Buffer[] } | undefined
  const flush = (): void => {
    if (!pending) return
    const bytes = Buffer.concat(pending.bytes)
    if (hasOtherByteOrder(bytes, pending.charset)) doubt = true
    out.push(decodeCharset(bytes, pending.charset, otherOrder))
    pending = undefined
  }
  for (const m of text.matchAll(ENCODED_WORD)) {
    const between = text.slice(last, m.index)
    const charset = m[1].replace(/\*.*$/, '').toLowerCase()
    const bytes = m[2] === 'b' || m[2] === 'B' ? Buffer.from(m[3], 'base64') : decodeQ(m[3])
    if (pending && ONLY_SPACE.test(between)) {
      if (pending.charset !== charset) {
        flush()
        pending = { charset, bytes: [bytes] }
      } else {
        pending.bytes.push(bytes)
      }
    } else {
      flush()
      out.push(between)
      pending = { charset, bytes: [bytes] }
    }
    last = m.index + m[0].length
  }
  flush()
  out.push(text.slice(last))
  return { text: out.join(''), doubt }
}

/**
 * Decodes every encoded word in text. Adjacent encoded words, separated only
 * by white space, are joined without it (RFC 2047 6.2); those in the same
 * charset are joined as bytes first, because mailers split one multi-byte
 * character across two words. The charset may carry an RFC 2231 5 language
 * suffix ("utf-8*en").
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text
  return decodeWords(text, false).text
}

/**
 * Every reading of text's encoded words: decodeEncodedWords's, then, when a
 * word is UTF-16 without a byte-order mark, the one with every such word
 * read in the other byte order (clients differ on it).
 */
export function decodeEncodedWordReadings(text: string): string[] {
  if (!text.includes('=?')) return [text]
  const first = decodeWords(text, false)
  return first.doubt ? [first.text, decodeWords(text, true).text] : [first.text]
}
