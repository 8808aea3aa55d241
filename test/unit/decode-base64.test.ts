// The base64 decoder's fast path (whole quanta, two characters a lookup)
// gives what the plain one-character-at-a-time reading of RFC 2045 6.8 gives,
// on any input: junk, padding in the middle, the output cap, a reused buffer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeBase64 } from '../../plugins/lib/mime/decode'
import { mulberry32 } from '../rig/prng'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

// The reference: every character on its own; "-" and "_" as "+" and "/".
function reference(buf: Buffer, start: number, end: number, maxBytes: number): Buffer | undefined {
  const out: number[] = []
  let bits = 0
  let nbits = 0
  for (let i = start; i < end; i++) {
    const ch = String.fromCharCode(buf[i])
    const v = ch === '-' ? 62 : ch === '_' ? 63 : ALPHABET.indexOf(ch)
    if (v >= 0) {
      bits = ((bits << 6) | v) & 0xffffff
      nbits += 6
      if (nbits >= 8) {
        nbits -= 8
        if (out.length >= Math.min(Math.floor(((end - start) * 3) / 4), maxBytes)) return undefined
        out.push((bits >> nbits) & 0xff)
      }
    } else if (ch === '=') {
      bits = 0
      nbits = 0
    }
  }
  return Buffer.from(out)
}

test('the fast path decodes as the plain reading does', () => {
  const rnd = mulberry32(2045)
  const junk = `${ALPHABET}-_=\r\n \t.!\xff\x00`
  const scratch = Buffer.alloc(64)
  for (let n = 0; n < 50_000; n++) {
    const len = Math.floor(rnd() * 70)
    let text = ''
    for (let j = 0; j < len; j++) text += rnd() < 0.85 ? ALPHABET[Math.floor(rnd() * 64)] : junk[Math.floor(rnd() * junk.length)]
    const buf = Buffer.from(text, 'latin1')
    const start = Math.min(len, Math.floor(rnd() * 3))
    const max = rnd() < 0.3 ? Math.floor(rnd() * 30) : 1 << 20
    const want = reference(buf, start, buf.length, max)
    assert.deepEqual(decodeBase64(buf, start, buf.length, max), want, JSON.stringify([text, start, max]))
    assert.deepEqual(decodeBase64(buf, start, buf.length, max, () => scratch), want)
  }
})

test('a long body with line breaks', () => {
  const data = Buffer.alloc(150_000)
  const rnd = mulberry32(7)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256)
  const b64 = (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
  assert.deepEqual(decodeBase64(Buffer.from(b64), 0, b64.length, 1 << 20), data)
})
