// File names read every way a mail client reads them (params.ts `readings`,
// name-readings.ts): each trick a sender can hide a name with gives the
// standard reading first and then exactly the other readings listed; the
// ordinary names give only their own. Every list is the part's file names as
// collectFilenames gives them (cleaned, none repeated). The readings cost a
// field's length: linear growth on the shapes that could make them cost more.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseStructuredValue } from '../../../plugins/lib/mime/params'
import { collectFilenames } from '../../../plugins/lib/mime/filenames'
import { decodeCharset, hasOtherByteOrder } from '../../../plugins/lib/mime/charset'
import { decodeEncodedWordReadings } from '../../../plugins/lib/mime/encoded-words'
import { MimePart, scanMime } from '../../../plugins/lib/mime/scan'
import { extensionOf } from '../../../plugins/lib/checks/attachments'
import { entity, message, multipart } from '../../fixtures/mime/messages'

/** The file names of a part whose Content-Type or Content-Disposition fields have these values (as byte strings). */
function names(...values: string[]): string[] {
  return collectFilenames(values.map(parseStructuredValue), [])
}

/** UTF-16 bytes of text, big-endian when be. */
function utf16(text: string, be: boolean): Buffer {
  const bytes = Buffer.from(text, 'utf16le')
  return be ? bytes.swap16() : bytes
}

function percent(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')
}

// "invoice.com" in UTF-16 read in the wrong byte order: what the other reading shows
const SWAPPED = decodeCharset(utf16('invoice.com', true), 'utf-16')

/** The only part of a multipart/mixed with these header lines. */
function partWith(headers: readonly string[]): MimePart {
  const raw = message(multipart('mixed', 'b', [entity(headers, 'AAAA')]))
  const part = scanMime(raw, { maxParts: 500, maxDepth: 30, maxHeaderBytes: 64 * 1024 }).parts.find((p) => p.path === '1')
  assert.ok(part)
  return part
}

describe('RFC 2231 sections: by number, and the other orders clients join them in', () => {
  test('out of order: by number, then as sent', () => {
    assert.deepEqual(names('attachment; filename*1=com; filename*0=invoice.'), ['invoice.com', 'cominvoice'])
    assert.deepEqual(names('application/zip; name*1=file.; name*0=zip'), ['zipfile', 'file.zip'])
    // the charset is the first section's wherever it was sent
    assert.deepEqual(names("attachment; filename*1*=%2Ecom; filename*0*=utf-8''invoice"), ['invoice.com', '.cominvoice'])
  })

  test('a section number given twice: the first, the last, both as sent', () => {
    assert.deepEqual(names('attachment; filename*0=a.pdf; filename*0=b.com'), ['a.pdf', 'b.com', 'a.pdfb.com'])
    assert.deepEqual(names("attachment; filename*=utf-8''a.pdf; filename*=utf-8''b.com"), ['a.pdf', 'b.com', 'a.pdfb.com'])
  })

  test('a missing number: the sections after it kept, and cut there', () => {
    assert.deepEqual(names('attachment; filename*0=a; filename*1=.com; filename*3=.txt'), ['a.com.txt', 'a.com'])
  })

  test('sections in order give one reading and no readings field', () => {
    const value = "attachment; filename*0*=utf-8''nyan%20cat; filename*1*=%20%E2%9C%94.gif"
    assert.deepEqual(names(value), ['nyan cat ✔.gif'])
    assert.equal(parseStructuredValue(value).readings, undefined)
  })
})

describe('quotes, escapes and ";" read the lenient ways', () => {
  test('a quoted string then more text: the quoted string alone, and joined to the rest', () => {
    assert.deepEqual(names('application/pdf; name="invoice".com'), ['invoice', 'invoice.com'])
    assert.deepEqual(names('application/pdf; name=inv"oice.c"om'), ['inv"oice.c"om', 'invoice.com'])
  })

  test('single quotes: as sent, and as quotes (the quoted text alone and joined to the rest)', () => {
    assert.deepEqual(names("application/pdf; name='invoice.com'"), ["'invoice.com'", 'invoice.com'])
    assert.deepEqual(names("application/pdf; name='invoice.com'.txt"), ["'invoice.com'.txt", 'invoice.com', 'invoice.com.txt'])
    assert.deepEqual(names("application/pdf; name='inv;oice.com'"), ["'inv", 'inv;oice.com', "'inv;oice.com'"])
  })

  test('";" inside an unquoted value: up to the ";", past the pieces without "=", and to the next name or the end', () => {
    assert.deepEqual(names('application/pdf; name=inv;oice.com'), ['inv', 'inv;oice.com'])
    assert.deepEqual(names('application/pdf; name=inv;oice.com; size=1'), ['inv', 'inv;oice.com', 'inv;oice.com; size=1'])
    assert.deepEqual(names('application/pdf; name=inv;oice.com; filename=x.pdf'), ['inv', 'x.pdf', 'inv;oice.com'])
  })

  test('a quoted string never closed: to the end, up to the ";", and the parameters it hid', () => {
    assert.deepEqual(names('application/pdf; name="inv;oice.com'), ['inv;oice.com', 'inv'])
    assert.deepEqual(names('attachment; filename="evil.com; name=a.pdf'), ['evil.com; name=a.pdf', 'evil.com', 'a.pdf'])
    assert.deepEqual(names('attachment; x="; filename=evil.com'), ['evil.com'])
    assert.deepEqual(names('attachment; x="a.pdf; filename*1=com; filename*0=evil.'), ['evil.com', 'comevil'])
  })

  test('backslashes outside quotes: kept, and escaping the next character', () => {
    assert.deepEqual(names('application/pdf; name=inv\\.com'), ['inv\\.com', 'inv.com'])
    assert.deepEqual(names('application/pdf; name=invoice.c\\om'), ['invoice.c\\om', 'invoice.com'])
    assert.deepEqual(names('application/pdf; name=inv\\;oice.com'), ['inv\\', 'inv;oice.com', 'inv\\;oice.com'])
  })

  test('a name inside a comment is no reading', () => {
    assert.deepEqual(names('attachment (filename=x.com); filename=a.pdf'), ['a.pdf'])
    assert.deepEqual(names('application/pdf; name=a.pdf (name=x.com)'), ['a.pdf'])
    assert.deepEqual(names('application/pdf; name=a.pdf; (name=x.com)'), ['a.pdf'])
    assert.deepEqual(names('application/pdf; name="a.pdf" (;name=x.com)'), ['a.pdf'])
  })
})

describe('UTF-16 without a byte-order mark: both byte orders', () => {
  test('RFC 2231: little-endian first (as before), then big-endian', () => {
    assert.deepEqual(names(`attachment; filename*=utf-16''${percent(utf16('invoice.com', true))}`), [SWAPPED, 'invoice.com'])
    assert.deepEqual(names(`attachment; filename*=UTF-16''${percent(utf16('invoice.com', false))}`), ['invoice.com', SWAPPED])
  })

  test('encoded words, quoted or not', () => {
    const word = `=?utf-16?B?${utf16('invoice.com', true).toString('base64')}?=`
    assert.deepEqual(names(`attachment; filename="${word}"`), [SWAPPED, 'invoice.com'])
    assert.deepEqual(names(`application/octet-stream; name=${word}`), [SWAPPED, 'invoice.com'])
    assert.deepEqual(decodeEncodedWordReadings(`x ${word}`), [`x ${SWAPPED}`, 'x invoice.com'])
  })

  test('a byte-order mark or a label that names the order: one reading', () => {
    const marked = Buffer.concat([Buffer.from([0xfe, 0xff]), utf16('invoice.com', true)])
    assert.deepEqual(names(`attachment; filename*=utf-16''${percent(marked)}`), ['invoice.com'])
    assert.deepEqual(names(`attachment; filename*=utf-16be''${percent(utf16('invoice.com', true))}`), ['invoice.com'])
    assert.deepEqual(names(`attachment; filename="=?utf-16le?B?${utf16('invoice.com', false).toString('base64')}?="`), ['invoice.com'])
  })

  test('decodeCharset: the mark decides whatever the label says; without one the label, else little-endian or, asked, big-endian', () => {
    const be = utf16('ab', true)
    assert.equal(decodeCharset(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'utf-16le'), 'ab')
    assert.equal(decodeCharset(Buffer.concat([Buffer.from([0xff, 0xfe]), utf16('ab', false)]), 'utf-16be'), 'ab')
    assert.equal(decodeCharset(be, 'utf-16be'), 'ab')
    assert.equal(decodeCharset(be, 'ucs-2', true), 'ab')
    assert.equal(decodeCharset(utf16('ab', false), 'unicode'), 'ab')
    assert.deepEqual(['utf-16', 'UTF16', 'ucs-2', 'unicode', 'utf-16le', 'utf-16be', 'utf-8', undefined].map((c) => hasOtherByteOrder(be, c)), [true, true, true, true, false, false, false, false])
    assert.equal(hasOtherByteOrder(Buffer.from([0x61]), 'utf-16'), false)
  })
})

describe('a parameter or a field given twice: both values', () => {
  test('in one field, and in two fields', () => {
    assert.deepEqual(names('attachment; filename=a.pdf; filename=b.com'), ['a.pdf', 'b.com'])
    assert.deepEqual(names('application/pdf; name=a.pdf', 'attachment; filename="b.com"'), ['a.pdf', 'b.com'])
  })
})

describe('ordinary names: their own reading only', () => {
  for (const [value, expected] of [
    ['attachment; filename="report (final).pdf"', 'report (final).pdf'],
    ["attachment; filename=O'Brien.docx", "O'Brien.docx"],
    ['attachment; filename="O\'Brien.docx"', "O'Brien.docx"],
    ['attachment; filename="a;b.txt"', 'a;b.txt'],
    ['attachment; filename="a;b.txt"; size=3', 'a;b.txt'],
    ['application/pdf; name=report.pdf; x-mac-type=PDF', 'report.pdf'],
    ['text/plain; name=notes.txt;', 'notes.txt'],
    ['image/gif; name="xx.gif";', 'xx.gif'],
    ['application/riscos; name="clock.bmp,69c"; type=BMP;', 'clock.bmp,69c'],
    ['text/plain; name=This is a test.txt', 'This is a test.txt'],
    ['attachment; filename="in\\"voice.pdf"', 'in"voice.pdf'],
    ['attachment; filename="C:\\x\\report.pdf"', 'C:\\x\\report.pdf'],
    ['image/gif; name="nyan cat =?UTF-8?Q?=E2=9C=94=2Egif?="', 'nyan cat ✔.gif'],
    ['application/pdf; name==?utf-8?B?VGhpcyBpcyBhIHRlc3QucGRm?=', 'This is a test.pdf'],
    ["application/octet-stream; name*=iso-8859-1'en'caf%E9.txt", 'café.txt'],
  ] as const) {
    test(value, () => {
      assert.deepEqual(names(value), [expected])
      assert.equal(parseStructuredValue(value).readings, undefined)
    })
  }
})

describe('through the scanner', () => {
  test("every reading is among the part's file names; the standard one first, and params unchanged", () => {
    const part = partWith(['Content-Type: application/pdf; name=inv;oice.com', "Content-Disposition: attachment; filename*1=com; filename*0=invoice."])
    assert.deepEqual(part.filenames, ['inv', 'invoice.com', 'inv;oice.com', 'cominvoice'])
    assert.equal(part.params.name, 'inv')
    assert.equal(part.dispositionParams.filename, 'invoice.com')
  })

  test('each trick above shows a name a client would open as .com', () => {
    for (const field of [
      'Content-Disposition: attachment; filename*1=.com; filename*0=invoice',
      'Content-Type: application/pdf; name="invoice".com',
      "Content-Type: application/pdf; name='invoice.com'",
      'Content-Type: application/pdf; name=inv;oice.com',
      'Content-Type: application/pdf; name="invoice.com;.pdf',
      'Content-Type: application/pdf; name=invoice.c\\om',
      `Content-Disposition: attachment; filename*=utf-16''${percent(utf16('invoice.com', true))}`,
      `Content-Disposition: attachment; filename="=?utf-16?B?${utf16('invoice.com', true).toString('base64')}?="`,
    ]) {
      const found = partWith([field]).filenames
      assert.ok(found.some((n) => extensionOf(n) === 'com'), `${field}: ${JSON.stringify(found)}`)
    }
  })
})

// --- linear growth ---------------------------------------------------------

// A machine shared with other work can stall all runs of one attempt: a
// reader that is not linear fails every attempt.
const RUNS = 5
const ATTEMPTS = 5

/** The least time of RUNS runs, in ms, after one to warm up. */
function time(input: string): number {
  const run = (): string[] => names(input)
  run()
  let best = Infinity
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    run()
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

// Each shape is one field value of about n bytes; the fields the scanner reads are at most 64 KB.
const SHAPES: Array<[string, (n: number) => string]> = [
  ['"name=a;b" pairs (a ";" inside every name)', (n) => 'attachment' + '; filename=a;b'.repeat(n / 14)],
  ['a quoted string never closed over n pieces', (n) => 'attachment; x=1; filename="' + 'a;b;name=c;'.repeat(n / 11)],
  ['a quote toggled in every name', (n) => 'attachment' + '; name=a"b;c'.repeat(n / 12)],
  ['single-quoted names with ";" inside', (n) => 'attachment' + "; name='a;b'".repeat(n / 12)],
  ['one name of backslashes and escaped ";"', (n) => 'attachment; name=' + 'a\\;\\'.repeat(n / 4)],
  ['a comment never closed in a run-on name', (n) => 'attachment; name=a;b (' + '(x;'.repeat(n / 3)],
  ['one RFC 2231 section number repeated', (n) => 'attachment' + '; filename*0=a'.repeat(n / 14)],
  ['UTF-16 encoded words without a mark', (n) => 'attachment; filename="' + '=?utf-16?B?AGEAYg==?= '.repeat(n / 22) + '"'],
]

describe('the readings cost a field\'s length (time at 4n within 5 times n, plus 5 ms)', () => {
  for (const [label, make] of SHAPES) {
    test(label, () => {
      const small = make(16 * 1024)
      const large = make(64 * 1024)
      const seen: string[] = []
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const a = time(small)
        const b = time(large)
        if (b <= 5 * a + 5) return
        seen.push(`${a.toFixed(2)} ms, 4n: ${b.toFixed(2)} ms`)
      }
      assert.fail(seen.join('; '))
    })
  }
})
