// The base64 decoder (Node's own decoder on strings cut at line ends, and
// its loop with whole quanta two characters a lookup) gives what the plain
// one-character-at-a-time reading of RFC 2045 6.8 gives, on any input: junk,
// padding in the middle, lines of any length, the output cap, a reused
// buffer, and cuts between strings anywhere.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeBase64, NATIVE_CHUNK_BYTES } from '../../../plugins/lib/mime/decode'
import { mulberry32 } from '../../rig/prng'

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

test('cut into strings anywhere, the answer is the same', () => {
  const rnd = mulberry32(4648)
  const junk = '-_=\r\n \t.!\xff\x00'
  for (let n = 0; n < 6000; n++) {
    const data = Buffer.alloc(Math.floor(rnd() * 600))
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256)
    // lines of one length, most often a multiple of four as mailers write them
    const width = rnd() < 0.7 ? 4 * (1 + Math.floor(rnd() * 19)) : 1 + Math.floor(rnd() * 80)
    const eol = rnd() < 0.8 ? '\r\n' : '\n'
    let text = (data.toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol)
    // now and then a character that does not belong, or padding mid-way
    const spoil = Math.floor(rnd() * 4)
    for (let k = 0; k < spoil; k++) {
      const at = Math.floor(rnd() * (text.length + 1))
      text = text.slice(0, at) + junk[Math.floor(rnd() * junk.length)] + text.slice(at)
    }
    const buf = Buffer.from(text, 'latin1')
    const start = Math.min(buf.length, Math.floor(rnd() * 3))
    const max = rnd() < 0.1 ? Math.floor(rnd() * 400) : 1 << 20
    const want = reference(buf, start, buf.length, max)
    for (const chunk of [0, 1, 5, 16, 64 + Math.floor(rnd() * 64), NATIVE_CHUNK_BYTES]) {
      assert.deepEqual(decodeBase64(buf, start, buf.length, max, Buffer.allocUnsafe, chunk), want, JSON.stringify([text, start, max, chunk]))
    }
  }
})

test('a body larger than one string: cut at line ends, the same bytes', () => {
  const rnd = mulberry32(76)
  for (const size of [NATIVE_CHUNK_BYTES, 3 * NATIVE_CHUNK_BYTES + 17]) {
    const data = Buffer.alloc(size)
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256)
    for (const width of [76, 64, 75]) {
      const b64 = Buffer.from((data.toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\r\n'))
      assert.deepEqual(decodeBase64(b64, 0, b64.length, 1 << 30), data, `${size} bytes, lines of ${width}`)
    }
  }
})
