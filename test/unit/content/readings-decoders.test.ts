// The lenient decoders of the alternative readings: exact bytes for each
// damage a client forgives (junk in base64, bad quoted-printable escapes,
// uuencode without its begin line, yEnc, gzip anywhere), the output cut at
// maxBytes, the deadline obeyed, and no throw on 2000 random inputs. The
// speed of base64 on a clean body is printed as a diagnostic.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as zlib from 'node:zlib'
import {
  base64AnyAlignment, gunzipAnywhere, quotedPrintableLenient, uudecodeLines, ydecode,
} from '../../../plugins/lib/content/readings/decoders'
import { inflateRaw } from '../../../plugins/lib/content/readings/inflate'
import type { Ticker } from '../../../plugins/lib/mime/types'
import { mulberry32 } from '../../rig/prng'
import { PROGRAM, zipOf } from '../../rig/zip-corpus'

const ZIP = zipOf({ 'invoice.com': PROGRAM })
const PK = Buffer.from('PK\x03\x04', 'latin1')
const BIG = 1 << 30

function b(text: string): Buffer {
  return Buffer.from(text, 'latin1')
}

/** Base64 in lines of 76 characters, CRLF, as mailers write it. */
function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') + '\r\n'
}

/** The reference: keep the alphabet only, drop skip characters, and let Node decode what is left. */
function base64Reference(text: Buffer, skip: number, maxBytes: number): Buffer {
  const kept = text.toString('latin1').replace(/[^A-Za-z0-9+/]/g, '').slice(skip)
  return Buffer.from(kept, 'base64').subarray(0, maxBytes)
}

function all64(text: Buffer, skip = 0, maxBytes = BIG): Buffer {
  return base64AnyAlignment(text, 0, text.length, skip, maxBytes)
}

function random(seed: number, n: number): Buffer {
  const next = mulberry32(seed)
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0
  return out
}

describe('base64AnyAlignment', () => {
  test('a clean body at skip 0 is what Buffer.from gives', () => {
    const text = base64Lines(ZIP)
    assert.deepEqual(all64(b(text)), Buffer.from(text, 'base64'))
    assert.deepEqual(all64(b(text)), ZIP)
  })

  test('only the range asked is read', () => {
    const text = b('AAAA' + ZIP.toString('base64') + 'AAAA')
    assert.deepEqual(base64AnyAlignment(text, 4, text.length - 4, 0, BIG), ZIP)
  })

  test('"U#E#s#D#B...": junk between every character is skipped', () => {
    const junky = b(ZIP.toString('base64').split('').join('#'))
    assert.equal(junky.subarray(0, 9).toString(), 'U#E#s#D#B')
    assert.deepEqual(all64(junky), ZIP)
  })

  test('"=" in mid stream: two padded chunks joined read on, the quantum continued', () => {
    // "PK" and "\x03\x04" each padded: "UEs=" "AwQ="; the "=" is ignored, so "UEsAwQ" is read
    assert.deepEqual(all64(b('UEs=AwQ=')), Buffer.from([0x50, 0x4b, 0x00, 0xc1]))
    // a chunk that ends on a whole quantum loses nothing: the zip's first three bytes, "=", the rest
    const whole = ZIP.toString('base64')
    assert.deepEqual(all64(b(`${whole.slice(0, 4)}=\r\n${whole.slice(4)}`)), ZIP)
  })

  test('a stray "hello" line before the data: skip 1 gives the data at its tail, no other alignment does', () => {
    const text = b('hello\r\n' + base64Lines(ZIP))
    const readings = [0, 1, 2, 3].map((skip) => all64(text, skip))
    // "hello" has 5 alphabet characters: dropping 1 leaves "ello", one quantum, before the data
    assert.deepEqual(readings[1], Buffer.concat([Buffer.from('ello', 'base64'), ZIP]))
    assert.deepEqual(readings.map((r) => r.indexOf(PK) >= 0), [false, true, false, false])
    for (const skip of [0, 1, 2, 3]) assert.deepEqual(readings[skip], base64Reference(text, skip, BIG))
  })

  test('"-" and "_" are ignored, not read as URL-safe digits', () => {
    const whole = ZIP.toString('base64')
    const text = b(`${whole.slice(0, 10)}-_-${whole.slice(10, 30)}_${whole.slice(30)}`)
    assert.deepEqual(all64(text), ZIP)
    assert.deepEqual(all64(b('-_-_')), Buffer.alloc(0))
  })

  test('maxBytes cuts the output there', () => {
    const text = b(base64Lines(ZIP))
    for (const max of [0, 1, 2, 3, 4, 10, 100]) assert.deepEqual(all64(text, 0, max), ZIP.subarray(0, max))
    // the cut also holds where the loop reads (junk between the characters)
    assert.deepEqual(all64(b('U#E#s#D#B#B#Q'), 0, 4), PK)
    assert.deepEqual(all64(b('UEs=AwQ='), 0, 2), b('PK'))
  })

  test('empty and all-junk input give nothing', () => {
    assert.deepEqual(all64(Buffer.alloc(0)), Buffer.alloc(0))
    assert.deepEqual(all64(b('#!-_= \r\n\t.,;:"\'()<>@[]'.repeat(100))), Buffer.alloc(0))
    assert.deepEqual(all64(b('A')), Buffer.alloc(0))
    assert.deepEqual(all64(b('AB')), Buffer.from([0]))
    assert.deepEqual(all64(b('abc'), 3), Buffer.alloc(0))
  })

  test('random junk mixed into random base64, every alignment: the same bytes as the reference', () => {
    const next = mulberry32(16)
    const junk = '=-_#!\r\n \t.\x00\xff\x80'
    for (let round = 0; round < 200; round++) {
      let text = ''
      const chars = random(round, 1 + Math.floor(next() * 300)).toString('base64')
      for (const c of chars) text += next() < 0.1 ? junk[Math.floor(next() * junk.length)] + c : c
      const skip = Math.floor(next() * 4)
      const max = next() < 0.3 ? Math.floor(next() * 200) : BIG
      assert.deepEqual(all64(b(text), skip, max), base64Reference(b(text), skip, max), `round ${round}`)
    }
  })

  test('speed on a clean 4 MB body (diagnostic, not asserted)', (t) => {
    const clean = b(base64Lines(random(1, 3 * 1024 * 1024)))
    const dirty = b(clean.toString('latin1').replace(/\r\n/g, '=\r\n'))
    for (const [label, text] of [['clean', clean], ['"=" on every line', dirty]] as const) {
      all64(text)
      const started = performance.now()
      for (let k = 0; k < 4; k++) all64(text, k)
      const ms = (performance.now() - started) / 4
      t.diagnostic(`base64AnyAlignment, ${label}: ${((text.length / 1e6) / (ms / 1000)).toFixed(0)} MB/s`)
    }
  })
})

describe('quotedPrintableLenient', () => {
  function qp(text: string, maxBytes = BIG): Buffer {
    const buf = b(text)
    return quotedPrintableLenient(buf, 0, buf.length, maxBytes)
  }

  test('a soft break after every byte decodes to the bytes', () => {
    const escaped = [...ZIP].map((x) => `=${x.toString(16).toUpperCase().padStart(2, '0')}=\r\n`).join('')
    assert.deepEqual(qp(escaped), ZIP)
    const plain = 'PK and more'.split('').join('=\n')
    assert.deepEqual(qp(plain), b('PK and more'))
  })

  test('an invalid escape drops the "=" and keeps what follows', () => {
    assert.deepEqual(qp('a=G1b'), b('aG1b'))
    assert.deepEqual(qp('=4G'), b('4G'))
    assert.deepEqual(qp('x=\ry'), b('x\ry'))
    assert.deepEqual(qp('end='), b('end'))
    assert.deepEqual(qp('end=4'), b('end4'))
    assert.deepEqual(qp('a= b'), b('a b'))
    assert.deepEqual(qp('=='), Buffer.alloc(0))
  })

  test('"=" with optional spaces and tabs before a line break is a soft break; other breaks are kept', () => {
    assert.deepEqual(qp('PK=\r\n=03=\n=04 \t=  \t\r\nend\r\nnext\nlast'), b('PK\x03\x04 \tend\r\nnext\nlast'))
  })

  test('hex of either case', () => {
    assert.deepEqual(qp('=50=4b=03=04=4B=fF=Ff'), Buffer.from([0x50, 0x4b, 3, 4, 0x4b, 0xff, 0xff]))
  })

  test('maxBytes cuts the output there', () => {
    assert.deepEqual(qp('=50=4B=03=04rest', 3), b('PK\x03'))
    assert.deepEqual(qp('abcdef', 0), Buffer.alloc(0))
    assert.deepEqual(qp('ab=\r\ncd', 3), b('abc'))
  })

  test('only the range asked is read', () => {
    const buf = b('=50=4B=03=04')
    assert.deepEqual(quotedPrintableLenient(buf, 3, 9, BIG), b('K\x03'))
  })
})

/** uuencode's data lines for data, zero written as zero (a space) or as a backtick. */
function uuLines(data: Buffer, zero: ' ' | '`'): string[] {
  const ch = (v: number): string => (v === 0 ? zero : String.fromCharCode(32 + v))
  const lines: string[] = []
  for (let at = 0; at < data.length; at += 45) {
    const chunk = data.subarray(at, at + 45)
    let line = ch(chunk.length)
    for (let k = 0; k < chunk.length; k += 3) {
      const [x, y, z] = [chunk[k], chunk[k + 1] ?? 0, chunk[k + 2] ?? 0]
      line += ch(x >> 2) + ch(((x & 3) << 4) | (y >> 4)) + ch(((y & 15) << 2) | (z >> 6)) + ch(z & 63)
    }
    lines.push(line)
  }
  return lines
}

describe('uudecodeLines', () => {
  function uu(text: string, maxBytes = BIG): Buffer {
    const buf = b(text)
    return uudecodeLines(buf, 0, buf.length, maxBytes)
  }

  test('a uuencoded file without its begin and end lines gives the data, "`" or " " for zero', () => {
    for (const zero of ['`', ' '] as const) assert.deepEqual(uu(uuLines(ZIP, zero).join('\r\n') + '\r\n'), ZIP, zero)
    assert.deepEqual(uu(uuLines(ZIP, '`').join('\n')), ZIP)
  })

  test('text lines mixed in are skipped', () => {
    const lines = uuLines(ZIP, '`')
    const text = ['Hello, here is the file.', 'begin 644 files.zip', ...lines.slice(0, 2), 'Some text in between', '', ...lines.slice(2), '`', 'end', '-- ', 'Regards'].join('\r\n')
    assert.deepEqual(uu(text), ZIP)
  })

  test('a line may carry up to 2 extra characters; 3, or one short, and it is skipped', () => {
    const [line] = uuLines(b('PK\x03\x04'), '`') // "$" and 8 characters
    assert.deepEqual(uu(`${line}\n${line}XY\n${line}XYZ\n${line.slice(0, -1)}\n`), b('PK\x03\x04PK\x03\x04'))
  })

  test('a line with a character uuencode never writes is skipped', () => {
    const [line] = uuLines(b('PK\x03\x04'), '`')
    assert.equal(line, '$4$L#!```')
    assert.deepEqual(uu(`${line}\n$4$l#!\`\`\`\n$4$L#!\x7f\`\`\n`), b('PK\x03\x04'))
  })

  test('maxBytes cuts the output there', () => {
    assert.deepEqual(uu(uuLines(ZIP, '`').join('\n'), 50), ZIP.subarray(0, 50))
    assert.deepEqual(uu(uuLines(ZIP, '`').join('\n'), 0), Buffer.alloc(0))
  })
})

/** yEnc 1.3: each byte + 42, NUL, LF, CR and "=" escaped, lines of 128. */
function yencode(data: Buffer, name: string): string {
  let body = ''
  let line = 0
  for (const x of data) {
    const c = (x + 42) & 255
    const piece = c === 0 || c === 10 || c === 13 || c === 61 ? `=${String.fromCharCode((c + 64) & 255)}` : String.fromCharCode(c)
    body += piece
    line += piece.length
    if (line >= 128) {
      body += '\r\n'
      line = 0
    }
  }
  return `=ybegin line=128 size=${data.length} name=${name}\r\n${body}\r\n=yend size=${data.length}\r\n`
}

describe('ydecode', () => {
  function y(text: string, maxBytes = BIG): Buffer | undefined {
    const buf = b(text)
    return ydecode(buf, 0, buf.length, maxBytes)
  }

  test('an encoded file decodes to its bytes, every byte value included', () => {
    const every = Buffer.from(Array.from({ length: 512 }, (_, i) => i & 255))
    assert.ok(yencode(every, 'x').includes('=@')) // NUL + 42 escaped... and the others
    assert.deepEqual(y(yencode(every, 'all.bin')), every)
    assert.deepEqual(y('Text before\r\n' + yencode(ZIP, 'files.zip') + 'Text after\r\n'), ZIP)
  })

  test('two files: both, in order; "=ypart" lines skipped; no "=yend": to the end', () => {
    const second = b('second file')
    const parted = yencode(second, 'b.txt').replace('\r\n', '\r\n=ypart begin=1 end=11\r\n')
    assert.deepEqual(y(yencode(ZIP, 'a.zip') + 'between\r\n' + parted), Buffer.concat([ZIP, second]))
    assert.deepEqual(y(yencode(ZIP, 'a.zip').replace(/=yend.*\r\n$/, '')), ZIP)
  })

  test('CR alone dropped; an "=" ending a line escapes nothing', () => {
    // "r" - 42 = "H", "=" "J" escapes: "J" - 64 - 42 = 0xe0
    assert.deepEqual(y('=ybegin name=x\r\nr\rr=J=\r\nr=\nr\r\n=yend\r\n'), b('HH\xe0HH'))
  })

  test('no "=ybegin" line: undefined; one not at a line start does not count', () => {
    assert.equal(y('plain text\r\n'), undefined)
    assert.equal(y('text =ybegin name=x\r\nabc\r\n'), undefined)
    assert.equal(y(''), undefined)
  })

  test('maxBytes cuts the output there', () => {
    assert.deepEqual(y(yencode(ZIP, 'a.zip'), 7), ZIP.subarray(0, 7))
    assert.deepEqual(y(yencode(ZIP, 'a.zip'), 0), Buffer.alloc(0))
  })
})

describe('gunzipAnywhere', () => {
  const TEXT = b(Array.from({ length: 20000 }, (_, i) => `line ${i}: ${(i * 7919) % 1000}`).join('\n'))

  test('a member after 100 junk bytes is found', () => {
    const data = Buffer.concat([random(2, 100), zlib.gzipSync(ZIP), random(3, 50)])
    assert.deepEqual(gunzipAnywhere(data, BIG, 4), [ZIP])
  })

  test('two members, one after the other: both', () => {
    const data = Buffer.concat([zlib.gzipSync(ZIP), b('junk'), zlib.gzipSync(TEXT)])
    assert.deepEqual(gunzipAnywhere(data, BIG, 4), [ZIP, TEXT])
    assert.deepEqual(gunzipAnywhere(data, BIG, 1), [ZIP])
  })

  test('a header with extra field, name, comment and header CRC is read past', () => {
    const member = zlib.gzipSync(ZIP)
    const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3, 3, 0]), b('abc'), b('files.zip\0a comment\0'), Buffer.from([0, 0])])
    assert.deepEqual(gunzipAnywhere(Buffer.concat([header, member.subarray(10)]), BIG, 4), [ZIP])
  })

  test('reserved flags or a name without its end: the header is invalid, skipped', () => {
    const member = zlib.gzipSync(ZIP)
    const reserved = Buffer.from(member)
    reserved[3] = 0x20
    assert.deepEqual(gunzipAnywhere(reserved, BIG, 4), [])
    const unnamed = Buffer.from(member)
    unnamed[3] = 0x08
    assert.deepEqual(gunzipAnywhere(Buffer.concat([unnamed.subarray(0, 10), Buffer.alloc(100, 0x41)]), BIG, 4), [])
  })

  test('a megabyte of headers naming a file whose name never ends, some sending it far ahead: each byte searched once', (t) => {
    const named = Buffer.from([0x1f, 0x8b, 8, 0x08, 1, 1, 1, 1, 1, 1])
    const ahead = Buffer.from([0x1f, 0x8b, 8, 0x04 | 0x08, 1, 1, 1, 1, 1, 1, 0xff, 0xff])
    const data = Buffer.concat(Array.from({ length: 50000 }, (_, i) => (i % 2 ? named : ahead)))
    const started = performance.now()
    assert.deepEqual(gunzipAnywhere(data, BIG, 4), [])
    t.diagnostic(`${data.length} bytes of headers in ${(performance.now() - started).toFixed(1)} ms`)
  })

  test('a thousand empty members before the real one do not use up the work budget', () => {
    const decoys = Buffer.concat(Array.from({ length: 1000 }, () => zlib.gzipSync(Buffer.alloc(0))))
    assert.deepEqual(gunzipAnywhere(Buffer.concat([decoys, zlib.gzipSync(ZIP)]), 1024 * 1024, 4), [ZIP])
  })

  test('a megabyte of valid headers over junk deflate data: nothing, and quickly (diagnostic)', (t) => {
    // each: a header, then a block of the reserved type, then a fixed block that ends at once
    const junk = [Buffer.from([0x1f, 0x8b, 8, 0, 1, 1, 1, 1, 1, 1, 0x07]), Buffer.from([0x1f, 0x8b, 8, 0, 1, 1, 1, 1, 1, 1, 0x03, 0x00])]
    const data = Buffer.concat(Array.from({ length: 90000 }, (_, i) => junk[i % 2]))
    const started = performance.now()
    assert.deepEqual(gunzipAnywhere(data, 1024 * 1024, 4), [])
    t.diagnostic(`${data.length} bytes, 90000 candidates, in ${(performance.now() - started).toFixed(1)} ms`)
  })

  test('maxBytes of Infinity is the largest buffer', () => {
    assert.deepEqual(gunzipAnywhere(zlib.gzipSync(ZIP), Infinity, 4), [ZIP])
    assert.deepEqual(base64AnyAlignment(b(ZIP.toString('base64')), -5, Infinity, 0, Infinity), ZIP)
    assert.deepEqual(base64AnyAlignment(b(ZIP.toString('base64')), NaN, NaN, NaN, NaN), Buffer.alloc(0))
  })

  test('a truncated member gives a prefix of its data', () => {
    const gz = zlib.gzipSync(TEXT)
    const [prefix] = gunzipAnywhere(gz.subarray(0, Math.floor(gz.length / 2)), BIG, 4)
    assert.ok(prefix.length > TEXT.length / 4, `${prefix.length}`)
    assert.deepEqual(prefix, TEXT.subarray(0, prefix.length))
  })

  test('a damaged member gives what came out before the damage', () => {
    const gz = zlib.gzipSync(TEXT, { level: 1 })
    const cut = Math.floor(gz.length * 0.6)
    const [before] = gunzipAnywhere(gz.subarray(0, cut), BIG, 4)
    assert.ok(before.length > TEXT.length / 3, `${before.length}`)
    assert.deepEqual(before, TEXT.subarray(0, before.length))
    // junk after the cut decodes to junk until it breaks a rule: what came before it is kept
    const [damaged] = gunzipAnywhere(Buffer.concat([gz.subarray(0, cut), Buffer.alloc(64, 0xff)]), BIG, 4)
    assert.deepEqual(damaged.subarray(0, before.length), before)
  })

  test('a block zlib refuses after a good one: zlib keeps nothing, the hand-written inflate what came before', () => {
    // a stored block "hello" (not the last), then a block of the reserved type 3
    const raw = Buffer.concat([Buffer.from([0x00, 5, 0, 0xfa, 0xff]), b('hello'), Buffer.from([0x07, 0, 0])])
    assert.throws(() => zlib.inflateRawSync(raw))
    const gz = Buffer.concat([zlib.gzipSync(Buffer.alloc(0)).subarray(0, 10), raw])
    assert.deepEqual(gunzipAnywhere(gz, BIG, 4), [b('hello')])
    assert.deepEqual(inflateRaw(raw, 0, BIG), { out: b('hello'), consumed: 11 })
  })

  test('a gzip bomb (50 MB of zeros) gives exactly maxBytes', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024))
    const before = process.memoryUsage().arrayBuffers
    const members = gunzipAnywhere(bomb, 1024 * 1024, 4)
    assert.deepEqual(members.map((m) => m.length), [1024 * 1024])
    assert.ok(members[0].every((x) => x === 0))
    assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024)
  })

  test('random bytes with 1f 8b 08 sprinkled: no throw, members and their sizes bounded', () => {
    const next = mulberry32(8)
    for (let round = 0; round < 50; round++) {
      const data = random(100 + round, 2000 + Math.floor(next() * 4000))
      for (let k = 0; k < 40; k++) {
        const at = Math.floor(next() * (data.length - 4))
        data[at] = 0x1f
        data[at + 1] = 0x8b
        data[at + 2] = 8
        data[at + 3] = next() < 0.5 ? 0 : data[at + 3] & 0x1f
      }
      const members = gunzipAnywhere(data, 1000, 3)
      assert.ok(members.length <= 3)
      for (const m of members) assert.ok(m.length > 0 && m.length <= 1000)
    }
  })

  test('the hand-written inflate gives what zlib gives, on every level and strategy', () => {
    const inputs = [TEXT, ZIP, random(5, 70000), Buffer.alloc(100000, 0x61), Buffer.concat([TEXT, random(6, 5000), TEXT])]
    for (const input of inputs) {
      for (const level of [0, 1, 6, 9]) {
        for (const strategy of [zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_FIXED, zlib.constants.Z_HUFFMAN_ONLY, zlib.constants.Z_RLE]) {
          const raw = zlib.deflateRawSync(input, { level, strategy })
          const { out, consumed } = inflateRaw(raw, 0, BIG)
          assert.deepEqual(out, input, `level ${level} strategy ${strategy}`)
          assert.equal(consumed, raw.length)
          assert.deepEqual(inflateRaw(raw, 0, 777).out, input.subarray(0, 777))
        }
      }
    }
  })
})

describe('the deadline', () => {
  class Expired extends Error {}
  /** Throws at the given tick, or at a check of a step larger than maxStep. */
  function ticker(ticks: number, maxStep = Infinity): Ticker & { count: number } {
    return {
      count: 0,
      tick() {
        if (++this.count >= ticks) throw new Expired('deadline')
      },
      check(step = 0) {
        if (step > maxStep) throw new Expired('step')
      },
    }
  }

  test('every decoder ticks while it works, and what the deadline throws comes through', () => {
    const text = b(base64Lines(random(9, 600 * 1024)))
    const dirty = b(text.toString('latin1').replace(/\r\n/g, '=\r\n'))
    const qp = b('=50=4B\r\n'.repeat(100000))
    const uu = b(uuLines(random(10, 300 * 1024), '`').join('\n'))
    const yenc = b(yencode(random(11, 300 * 1024), 'x'))
    const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024))
    const runs: [string, (t: Ticker) => unknown][] = [
      ['base64 with junk', (t) => base64AnyAlignment(dirty, 0, dirty.length, 0, BIG, t)],
      ['quoted-printable', (t) => quotedPrintableLenient(qp, 0, qp.length, BIG, t)],
      ['uuencode', (t) => uudecodeLines(uu, 0, uu.length, BIG, t)],
      ['yEnc', (t) => ydecode(yenc, 0, yenc.length, BIG, t)],
      ['gunzip of a bomb, past zlib', (t) => gunzipAnywhere(bomb, 2 * 1024 * 1024, 1, t)],
    ]
    for (const [label, run] of runs) {
      const counting = ticker(Infinity)
      run(counting)
      assert.ok(counting.count >= 100, `${label}: ${counting.count} ticks`)
      assert.throws(() => run(ticker(50)), Expired, label)
    }
    // the clean base64 body is one step for Node's decoder: checked with its size first
    assert.throws(() => base64AnyAlignment(text, 0, text.length, 0, BIG, ticker(Infinity, 64 * 1024)), /step/)
    assert.throws(() => gunzipAnywhere(bomb, 2 * 1024 * 1024, 1, ticker(Infinity, 1024 * 1024)), /step/)
  })
})

describe('fuzz', () => {
  test('2000 random buffers through every decoder: no throw, output within maxBytes', () => {
    const next = mulberry32(1616)
    const alphabets = [
      (n: number) => random(Math.floor(next() * 1e9), n),
      (n: number) => b(random(Math.floor(next() * 1e9), n).toString('base64').replace(/(.{7})/g, (m) => (next() < 0.3 ? `${m}=\r\n` : m))),
      (n: number) => b(Array.from({ length: n }, () => '= \r\n\tAf0`M=ybegin=yend=ypart\x1f\x8b\x08'[Math.floor(next() * 31)]).join('')),
    ]
    for (let round = 0; round < 2000; round++) {
      const n = Math.floor(next() * 3000)
      const buf = alphabets[round % alphabets.length](n)
      const start = Math.floor(next() * (n + 2)) - 1
      const end = Math.floor(next() * (n + 4)) - 2
      const max = next() < 0.5 ? Math.floor(next() * 100) : Math.floor(next() * 5000)
      const skip = Math.floor(next() * 4)
      const label = `round ${round}`
      assert.ok(base64AnyAlignment(buf, start, end, skip, max).length <= max, label)
      assert.ok(quotedPrintableLenient(buf, start, end, max).length <= max, label)
      assert.ok(uudecodeLines(buf, start, end, max).length <= max, label)
      assert.ok((ydecode(buf, start, end, max)?.length ?? 0) <= max, label)
      const members = gunzipAnywhere(buf, max, 3)
      assert.ok(members.length <= 3 && members.every((m) => m.length > 0 && m.length <= max), label)
      assert.ok(inflateRaw(buf, 0, max).out.length <= max, label)
    }
  })
})
