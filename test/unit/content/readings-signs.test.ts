// The signs that make the scan read a message every way: none on ordinary
// mail (the readings then cost nothing), each kind on the mail that shows
// it; and the stretches between "--" lines that the readings decode.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { scanMime, ScanLimits } from '../../../plugins/lib/mime/scan'
import { base64Oddity, bodySigns } from '../../../plugins/lib/content/readings/signs'
import { dashSegments } from '../../../plugins/lib/content/readings/segments'
import { attachment, base64Lines, entity, filler, message, multipart, textPart, uuencode } from '../../fixtures/mime/messages'

const LIMITS: ScanLimits = { maxParts: 1000, maxDepth: 50, maxHeaderBytes: 102400 }

/** Every sign the scan and the bodies show, the kinds only. */
function signsOf(raw: Buffer): string[] {
  const scan = scanMime(raw, LIMITS)
  return [...scan.signs, ...scan.problems.map((p) => p.kind), ...bodySigns(raw, scan)]
}

const ordinary: Array<[string, Buffer]> = [
  ['a text message', message(entity(['Content-Type: text/plain; charset=utf-8'], 'Hello,\r\n\r\n-- \r\nAlice\r\n'))],
  ['text and HTML', message(multipart('alternative', 'alt-1', [textPart('hi'), textPart('<p>hi</p>', 'text/html; charset=utf-8')]))],
  ['a PDF attachment', message(multipart('mixed', '----=_Part_0_1.2', [textPart('see attached'), attachment('application/pdf', 'report.pdf', filler(50000))]))],
  ['a zip attachment', message(multipart('mixed', 'b1', [textPart('files'), attachment('application/zip', 'files.zip', filler(3000, 7))]))],
  ['a forwarded message', message(multipart('mixed', 'b2', [textPart('fwd'), entity(['Content-Type: message/rfc822'], 'From: x@example.org\r\nSubject: y\r\n\r\nbody\r\n')]))],
  ['a quoted-printable text', message(entity(['Content-Type: text/html', 'Content-Transfer-Encoding: quoted-printable'], '<p style=3D"x">caf=C3=A9 soft=\r\nbreak</p>'))],
  ['a signature and a rule inside a multipart', message(multipart('mixed', 'b3', [textPart('text\r\n-- \r\nAlice\r\n----------\r\n')]))],
]

describe('ordinary mail shows no sign', () => {
  for (const [name, raw] of ordinary) {
    test(name, () => assert.deepEqual(signsOf(raw), []))
  }
})

const zip = filler(2000, 3)

describe('each sign', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['two Content-Transfer-Encoding fields', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64'], base64Lines(zip))])), /2 Content-Transfer-Encoding values/],
    ['a list as the encoding', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64, quoted-printable'], base64Lines(zip))])), /Content-Transfer-Encoding "base64, ?quoted-printable"/],
    ['x-base64', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: x-base64'], base64Lines(zip))])), /Content-Transfer-Encoding "x-base64"/],
    ['two Content-Type fields', message(entity(['Content-Type: text/plain', 'Content-Type: multipart/mixed; boundary=q'], '--q\r\n\r\nx\r\n--q--\r\n')), /2 Content-Type fields/],
    ['x-multipart', message(entity(['Content-Type: x-multipart/mixed; boundary=q'], '--q\r\n\r\nx\r\n--q--\r\n')), /read as text\/plain|x-multipart/],
    ['a single-quoted boundary', message(entity(["Content-Type: multipart/mixed; boundary='q1'"], "--q1\r\n\r\nx\r\n--q1--\r\n")), /boundary with quotes/],
    ['an escaped boundary', message(entity(['Content-Type: multipart/mixed; boundary="q\\_1"'], '--q_1\r\n\r\nx\r\n--q_1--\r\n')), /./],
    ['a multipart whose boundary never appears', message(multipart('mixed', 'b', [entity(['Content-Type: multipart/mixed; boundary=nothere', 'Content-Transfer-Encoding: base64'], base64Lines(zip))])), /no parts|unterminated/],
    ['a colon-less encoding line', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding base64'], base64Lines(zip))])), /bad-header/],
    ['a folded encoding field', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'X-Note: a', ' Content-Transfer-Encoding: base64'], base64Lines(zip))])), /folded MIME field/],
    ['text after the close delimiter', Buffer.concat([message(multipart('mixed', 'b', [textPart('x')])), Buffer.from('\r\nContent-Type: application/zip\r\n\r\nUEsDBAo=\r\n')]), /text after the close delimiter/],
    ['a "--" line that is no delimiter', message(multipart('mixed', 'b', [textPart('x\r\n--bX\r\nContent-Type: application/zip\r\n\r\nUEsDBAo=')])), /a "--" line that is no delimiter/],
    ['a part that starts with an empty line', message(multipart('mixed', 'b', ['\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n' + base64Lines(zip)])), /header fields after an empty line/],
    ['junk between base64 quanta', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64'], 'U#E#s#D#B' + base64Lines(zip))])), /first line is not base64/],
    ['"=" in mid stream', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64'], 'UEs=\r\n' + base64Lines(zip))])), /"=" before its end/],
    ['"-" in base64', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64'], base64Lines(zip).replace(/A/g, '-'))])), /"-" or "_"/],
    ['lines of uneven length', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64'], base64Lines(zip).replace('\r\n', 'AAAA\r\n'))])), /uneven/],
    ['a stray line before the data', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64'], 'hello there\r\n' + base64Lines(zip))])), /first line is not base64/],
    ['an invalid quoted-printable escape in a file', message(multipart('mixed', 'b', [entity(['Content-Type: application/zip', 'Content-Transfer-Encoding: quoted-printable'], 'PK=03=04=G1')])), /no escape/],
    ['uuencode lines under no encoding', message(multipart('mixed', 'b', [entity(['Content-Type: application/octet-stream'], uuencode('x.zip', zip).split('\r\n').slice(1).join('\r\n'))])), /encoded-looking lines/],
    ['base64 under no encoding', message(multipart('mixed', 'b', [entity(['Content-Type: application/octet-stream'], base64Lines(zip))])), /encoded-looking lines/],
    ['yEnc in a text part', message(multipart('mixed', 'b', [textPart('=ybegin line=128 size=3 name=x.zip\r\nabc\r\n=yend size=3\r\n')])), /=ybegin/],
    ['a bare CR before a delimiter', message(multipart('mixed', 'b', [textPart('x\r--b\r\nContent-Type: application/zip\r\n\r\nUEsDBAo=')])), /bare CR before "--"/],
  ]
  for (const [name, raw, want] of cases) {
    test(name, () => {
      const signs = signsOf(raw)
      assert.ok(signs.some((s) => want.test(s)), JSON.stringify(signs))
    })
  }
})

test('base64 in regular lines, LF or CRLF, with its padding: no oddity', () => {
  for (const size of [1, 2, 3, 57, 58, 5000]) {
    const text = base64Lines(filler(size, size))
    for (const eol of ['\r\n', '\n']) {
      const body = Buffer.from(text.replaceAll('\r\n', eol) + eol)
      assert.equal(base64Oddity(body, 0, body.length), undefined, `${size} ${JSON.stringify(eol)}`)
    }
  }
})

describe('the stretches between "--" lines', () => {
  const at = (raw: Buffer): string[] => dashSegments(raw, 0, raw.length, 100).map((s) => `${s.after}|${raw.toString('latin1', s.start, s.end)}`)

  test('cut at lines that start with "--", after LF, CRLF or a bare CR; the "--" lines themselves left out', () => {
    const raw = Buffer.from('head\r\n--a\r\none\r\n--b x\ntwo\r--c\rthree--d\r\n--')
    assert.deepEqual(at(raw), ['|head\r\n', '--a|one\r\n', '--b x|two\r', '--c|three--d\r\n'])
  })

  test('no "--" line: one stretch', () => {
    assert.deepEqual(at(Buffer.from('a--b\r\nc')), ['|a--b\r\nc'])
  })

  test('past max stretches, the last runs to the end', () => {
    const raw = Buffer.from(Array.from({ length: 50 }, (_, i) => `--${i}\r\nx${i}\r\n`).join(''))
    const cut = dashSegments(raw, 0, raw.length, 10)
    assert.equal(cut.length, 10)
    assert.equal(cut[9].end, raw.length)
    assert.equal(cut[9].after, '--9')
  })
})
