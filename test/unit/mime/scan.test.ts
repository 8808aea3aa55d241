// The MIME scanner the DATA checks read messages with: structure (RFC 2046),
// header fields (RFC 5322), parameters and file names (RFC 2045, 2183, 2231,
// 2047), limits, broken input, body decoding, and its speed (printed, not
// asserted).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeUuencoded, MimePart, MimeScan, partBody, scanMime, ScanLimits, topLevelHeaders, uuencodedFiles } from '../../../plugins/lib/mime/scan'
import { assertSound } from '../../fixtures/mime/sound'
import { attachment, base64Lines, CRLF, entity, filler, lines, message, multipart, multipartBody, speedMessage, textPart, uuencode } from '../../fixtures/mime/messages'

const LIMITS: ScanLimits = { maxParts: 500, maxDepth: 30, maxHeaderBytes: 64 * 1024 }

function scan(raw: Buffer, limits: Partial<ScanLimits> = {}): MimeScan {
  const result = scanMime(raw, { ...LIMITS, ...limits })
  assertSound(raw, result)
  return result
}

function shape(result: MimeScan): Array<[string, string]> {
  return result.parts.map((p) => [p.path, p.contentType])
}

function bodyText(raw: Buffer, part: MimePart): string {
  return raw.toString('latin1', part.bodyStart, part.bodyEnd)
}

function kinds(result: MimeScan): string[] {
  return result.problems.map((p) => p.kind)
}

function part(result: MimeScan, path: string): MimePart {
  const found = result.parts.find((p) => p.path === path)
  assert.ok(found, `no part ${path}`)
  return found
}

/** A message whose only part has these header lines, in a multipart/mixed: the place file names are tested. */
function withPart(headers: readonly string[], body = 'AAAA'): MimePart {
  const raw = message(multipart('mixed', 'b', [entity(headers, body)]))
  return part(scan(raw), '1')
}

describe('multipart boundaries (RFC 2046 5.1.1)', () => {
  test('preamble and epilogue are not parts; a part ends before the line break of the next delimiter', () => {
    const raw = lines(['Content-Type: multipart/mixed; boundary=b1', '', 'preamble', '--b1', 'Content-Type: text/html', '', 'first', '--b1', '', 'second', 'line', '--b1--', 'epilogue', ''])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'text/html'], ['2', 'text/plain']])
    assert.equal(bodyText(raw, result.parts[1]), 'first')
    assert.equal(bodyText(raw, result.parts[2]), 'second\r\nline')
    assert.equal(result.parts[0].bodyEnd, raw.length)
    assert.equal(result.parts[0].isMultipart, true)
    assert.equal(result.parts[1].isMultipart, false)
    assert.deepEqual(result.problems, [])
  })

  test('white space after a delimiter and after the close; anything else makes the line text', () => {
    const raw = lines(['Content-Type: multipart/mixed; boundary="b1"', '', '--b1 \t', '', 'one', '--b1x', '--b1 x', '--b1--x', '--b1', '', 'two', '--b1--  ', 'after'])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'text/plain'], ['2', 'text/plain']])
    assert.equal(bodyText(raw, result.parts[1]), 'one\r\n--b1x\r\n--b1 x\r\n--b1--x')
    assert.equal(bodyText(raw, result.parts[2]), 'two')
    assert.deepEqual(result.problems, [])
  })

  test('nested multiparts, each with its own boundary', () => {
    const raw = message(multipart('mixed', 'outer', [multipart('alternative', 'inner', [textPart('t'), textPart('<b>t</b>', 'text/html')]), attachment('application/pdf', 'a.pdf', filler(300))]))
    const result = scan(raw)
    assert.deepEqual(shape(result), [
      ['', 'multipart/mixed'],
      ['1', 'multipart/alternative'],
      ['1.1', 'text/plain'],
      ['1.2', 'text/html'],
      ['2', 'application/pdf'],
    ])
    assert.deepEqual(result.parts.map((p) => p.depth), [0, 1, 2, 2, 1])
    assert.equal(bodyText(raw, part(result, '1.2')), '<b>t</b>')
    assert.deepEqual(part(result, '2').filenames, ['a.pdf'])
    assert.deepEqual(result.problems, [])
  })

  test('a boundary that is a prefix of another, either way round', () => {
    for (const [outer, inner] of [['abc', 'abcdef'], ['abcdef', 'abc']]) {
      const raw = message(multipart('mixed', outer, [multipart('alternative', inner, [textPart('x'), textPart('y')]), textPart('z')]))
      const result = scan(raw)
      assert.deepEqual(shape(result), [
        ['', 'multipart/mixed'],
        ['1', 'multipart/alternative'],
        ['1.1', 'text/plain'],
        ['1.2', 'text/plain'],
        ['2', 'text/plain'],
      ], `${outer} around ${inner}`)
      assert.deepEqual([bodyText(raw, part(result, '1.1')), bodyText(raw, part(result, '1.2')), bodyText(raw, part(result, '2'))], ['x', 'y', 'z'])
      assert.deepEqual(result.problems, [])
    }
  })

  test('an inner multipart that is never closed ends at the next delimiter of the outer one', () => {
    const inner = entity(['Content-Type: multipart/alternative; boundary=in'], multipartBody('in', [textPart('x'), textPart('y')], { close: false }))
    const raw = message(multipart('mixed', 'out', [inner, attachment('application/octet-stream', 'late.exe', filler(100))]))
    const result = scan(raw)
    assert.deepEqual(shape(result), [
      ['', 'multipart/mixed'],
      ['1', 'multipart/alternative'],
      ['1.1', 'text/plain'],
      ['1.2', 'text/plain'],
      ['2', 'application/octet-stream'],
    ])
    assert.equal(bodyText(raw, part(result, '1.2')), 'y')
    assert.deepEqual(part(result, '2').filenames, ['late.exe'])
    assert.deepEqual(kinds(result), ['unterminated-multipart'])
    assert.match(result.problems[0].detail, /part 1/)
  })

  test('a message whose closing boundary never comes: the last part runs to the end', () => {
    const raw = lines(['Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', 'Content-Type: application/octet-stream; name=x.exe', '', 'AAAA', 'BBBB'])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'text/plain'], ['2', 'application/octet-stream']])
    assert.equal(part(result, '2').bodyEnd, raw.length)
    assert.equal(bodyText(raw, part(result, '2')), 'AAAA\r\nBBBB')
    assert.deepEqual(kinds(result), ['unterminated-multipart'])
  })

  test('a multipart with no boundary parameter is one opaque part', () => {
    for (const ct of ['multipart/mixed', 'multipart/mixed; boundary=""', 'multipart/mixed; charset=x']) {
      const raw = lines([`Content-Type: ${ct}`, '', '--b', 'Content-Type: application/octet-stream; name=hidden.exe', '', 'AAAA', '--b--'])
      const result = scan(raw)
      assert.deepEqual(shape(result), [['', 'multipart/mixed']], ct)
      assert.equal(result.parts[0].isMultipart, false)
      assert.equal(result.parts[0].bodyEnd, raw.length)
      assert.deepEqual(kinds(result), ['no-boundary'])
    }
  })

  test('a part whose header runs straight into the next delimiter has an empty body', () => {
    const raw = lines(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/octet-stream; name=a.exe', '--b', '--b', 'Content-Type: text/html', '', 'x', '--b--'])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'application/octet-stream'], ['2', 'text/plain'], ['3', 'text/html']])
    assert.deepEqual(part(result, '1').filenames, ['a.exe'])
    assert.equal(bodyText(raw, part(result, '1')), '')
    assert.equal(bodyText(raw, part(result, '2')), '')
    assert.equal(bodyText(raw, part(result, '3')), 'x')
  })

  test('parts of a multipart/digest are messages unless they say otherwise (RFC 2046 5.1.5)', () => {
    const inner = entity(['From: x@example.net', 'Subject: one', 'Content-Type: multipart/mixed; boundary=i'], multipartBody('i', [textPart('a'), attachment('application/x-msdownload', 'run.exe', filler(60))]))
    const raw = message(multipart('digest', 'dg', [entity([], inner), entity(['Content-Type: text/plain'], 'not a message')]))
    const result = scan(raw)
    assert.deepEqual(shape(result), [
      ['', 'multipart/digest'],
      ['1', 'message/rfc822'],
      ['1.1', 'multipart/mixed'],
      ['1.1.1', 'text/plain'],
      ['1.1.2', 'application/x-msdownload'],
      ['2', 'text/plain'],
    ])
    assert.deepEqual(part(result, '1.1.2').filenames, ['run.exe'])
  })
})

describe('attached messages', () => {
  const forwarded = entity(['From: carol@example.org', 'Subject: fwd', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=inner-1'], multipartBody('inner-1', [textPart('see attached'), attachment('application/octet-stream', 'tool.exe', filler(90))]))

  test('a message/rfc822 part: the attached message and its attachments are parts, the path continues', () => {
    const raw = message(multipart('mixed', 'fw', [textPart('forwarding'), entity(['Content-Type: message/rfc822', 'Content-Disposition: attachment; filename="fwd.eml"'], forwarded)]))
    const result = scan(raw)
    assert.deepEqual(shape(result), [
      ['', 'multipart/mixed'],
      ['1', 'text/plain'],
      ['2', 'message/rfc822'],
      ['2.1', 'multipart/mixed'],
      ['2.1.1', 'text/plain'],
      ['2.1.2', 'application/octet-stream'],
    ])
    assert.deepEqual(part(result, '2').filenames, ['fwd.eml'])
    assert.deepEqual(part(result, '2.1.2').filenames, ['tool.exe'])
    assert.equal(part(result, '2.1').headerStart, part(result, '2').bodyStart)
    assert.equal(part(result, '2.1').bodyEnd, part(result, '2').bodyEnd)
    assert.deepEqual(result.problems, [])
  })

  test('message/global is scanned the same way; an encoded attached message stays one part', () => {
    const global = scan(message(multipart('mixed', 'g', [entity(['Content-Type: message/global'], forwarded)])))
    assert.deepEqual(part(global, '1.1.2').filenames, ['tool.exe'])
    const encoded = scan(message(multipart('mixed', 'g', [entity(['Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.from(forwarded)))])))
    assert.deepEqual(shape(encoded), [['', 'multipart/mixed'], ['1', 'message/rfc822']])
  })

  test('an attached message ends at the delimiter of the multipart around it', () => {
    const raw = message(multipart('mixed', 'fw', [entity(['Content-Type: message/rfc822'], entity(['Subject: inner'], 'inner text')), attachment('application/pdf', 'after.pdf', filler(30))]))
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'message/rfc822'], ['1.1', 'text/plain'], ['2', 'application/pdf']])
    assert.equal(bodyText(raw, part(result, '1.1')), 'inner text')
  })

  test('message/partial keeps its type, at the top level and nested', () => {
    const top = scan(message(entity(['Content-Type: message/partial; id="abc@example.net"; number=1; total=2'], 'From: x@example.net\r\n\r\nhalf')))
    assert.deepEqual(shape(top), [['', 'message/partial']])
    assert.equal(top.parts[0].params.total, '2')
    const nested = scan(message(multipart('mixed', 'p', [textPart('x'), entity(['Content-Type: message/rfc822'], entity(['Content-Type: MESSAGE/PARTIAL; id=x; number=2'], 'half'))])))
    assert.deepEqual(shape(nested), [['', 'multipart/mixed'], ['1', 'text/plain'], ['2', 'message/rfc822'], ['2.1', 'message/partial']])
  })

  test('attached messages count towards the depth limit', () => {
    let body = entity(['Content-Type: application/octet-stream; name=deep.exe'], 'AAAA')
    for (let i = 0; i < 6; i++) body = entity(['Content-Type: message/rfc822'], body)
    const result = scan(message(body), { maxDepth: 3 })
    assert.deepEqual(shape(result), [['', 'message/rfc822'], ['1', 'message/rfc822'], ['1.1', 'message/rfc822'], ['1.1.1', 'message/rfc822']])
    assert.deepEqual(kinds(result), ['too-deep'])
  })
})

describe('header fields (RFC 5322)', () => {
  test('folded fields are unfolded; parameters on continuation lines count', () => {
    const p = withPart(['Content-Type: application/octet-stream;', '\tname="long', ' name.exe"', 'Content-Disposition: attachment;', '    filename=', '  "x.exe"'])
    assert.equal(p.contentType, 'application/octet-stream')
    assert.deepEqual(p.filenames, ['long name.exe', 'x.exe'])
    assert.equal(p.disposition, 'attachment')
  })

  test('a line without a colon ends the header and starts the body', () => {
    const raw = lines(['Subject: x', 'this is not a header', 'Content-Type: application/x-msdownload; name=a.exe', '', 'body'])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'text/plain']])
    assert.equal(result.parts[0].bodyStart, raw.indexOf('this is'))
    assert.deepEqual(kinds(result), ['bad-header'])
  })

  test('a continuation line before any field is skipped', () => {
    const result = scan(lines(['  stray continuation', 'Content-Type: text/html', '', 'x']))
    assert.deepEqual(shape(result), [['', 'text/html']])
    assert.deepEqual(kinds(result), ['bad-header'])
  })

  test('8-bit garbage in a value is kept; in a name it ends the header', () => {
    const raw = Buffer.concat([Buffer.from('X-Junk: \xff\xfe\x80\x00 junk\r\nContent-Type: application/octet-stream; name="caf\xe9.exe"\r\nContent-Disposition: attachment; filename="\xe2\x82\xac.exe"\r\n\xff\xfe: v\r\nContent-Type: text/html\r\n\r\nbody', 'latin1')])
    const result = scan(raw)
    assert.equal(result.parts[0].contentType, 'application/octet-stream')
    // not UTF-8: latin1; valid UTF-8 (RFC 6532): UTF-8
    assert.deepEqual(result.parts[0].filenames, ['café.exe', '€.exe'])
    assert.deepEqual(kinds(result), ['bad-header'])
  })

  test('a header section over the limit is cut there, reported as the header limit, and costs no more than its length', () => {
    const huge = 'X-Huge: ' + 'a'.repeat(1024 * 1024)
    const ct = 'Content-Type: application/octet-stream; name=first.exe; x="' + 'b'.repeat(1024 * 1024) + '"'
    const raw = lines([ct, huge, huge, 'Subject: after', '', 'body'])
    const started = process.hrtime.bigint()
    const result = scan(raw, { maxHeaderBytes: 1000 })
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    assert.equal(result.parts[0].contentType, 'application/octet-stream')
    assert.deepEqual(result.parts[0].filenames, ['first.exe'])
    assert.equal(result.parts[0].params.x.length, 1000 - 'Content-Type: application/octet-stream; name=first.exe; x="'.length)
    assert.equal(bodyText(raw, result.parts[0]), 'body')
    assert.deepEqual(kinds(result), ['header-too-long'])
    assert.equal(result.problems[0].detail, 'message: the header section is longer than 1000 bytes, cut at content-type')
    assert.deepEqual(result.limit, { name: 'header', detail: result.problems[0].detail })
    // past the section's limit no field is read: the name after 1 MB of other fields is not seen, and the limit says so
    const late = lines([huge, ct, 'Subject: after', '', 'body'])
    const cut = scan(late, { maxHeaderBytes: 1000 })
    assert.equal(cut.parts[0].contentType, 'text/plain')
    assert.deepEqual(cut.parts[0].filenames, [])
    assert.equal(bodyText(late, cut.parts[0]), 'body')
    assert.equal(cut.limit?.name, 'header')
    const headers = topLevelHeaders(raw, 1000)
    assert.deepEqual(headers.map((h) => [h.name, h.value.length]), [['content-type', 986], ['x-huge', 992], ['x-huge', 992], ['subject', 5]])
    // a folded field is cut too, however many lines it has
    const folded = lines(['Content-Type: text/plain;', ...Array.from({ length: 20000 }, () => '\tx=yyyyyyyyyy;'), '', 'b'])
    assert.deepEqual(kinds(scan(folded, { maxHeaderBytes: 1000 })), ['header-too-long'])
    process.stdout.write(`# 1 MB header lines: ${ms.toFixed(1)} ms\n`)
    assert.ok(ms < 2000, `took ${ms} ms`)
  })

  test('a repeated Content-Type: the first one wins', () => {
    const result = scan(lines(['Content-Type: application/x-msdownload; name=one.exe', 'Content-Type: text/plain; name=two.txt', '', 'x']))
    assert.equal(result.parts[0].contentType, 'application/x-msdownload')
    assert.deepEqual({ ...result.parts[0].params }, { name: 'one.exe' })
  })

  test('any letter case in field and parameter names; the boundary keeps its case', () => {
    const raw = lines(['CONTENT-TYPE: Multipart/MIXED; BOUNDARY="XyZ"', '', '--xyz', 'not a delimiter', '--XyZ', 'content-type: Application/Octet-Stream; NAME=a.exe', 'CONTENT-DISPOSITION: ATTACHMENT; FileName=b.exe', 'Content-Transfer-Encoding: BASE64', '', 'QUJD', '--XyZ--'])
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'application/octet-stream']])
    assert.equal(result.parts[0].params.boundary, 'XyZ')
    const p = part(result, '1')
    assert.deepEqual([p.disposition, p.encoding, p.filenames], ['attachment', 'base64', ['a.exe', 'b.exe']])
    assert.deepEqual({ ...p.dispositionParams }, { filename: 'b.exe' })
  })

  test('quoted and unquoted values, escaped quotes, comments, white space before the colon', () => {
    const p = withPart([
      'Content-Type : application/octet-stream (type; comment) ; name = "a \\"quoted\\" name.exe" (trailing) ; x=1',
      'Content-Disposition: attachment (why); filename=plain name.exe (a comment); size=(c)42',
    ])
    assert.equal(p.contentType, 'application/octet-stream')
    assert.deepEqual({ ...p.params }, { name: 'a "quoted" name.exe', x: '1' })
    assert.deepEqual({ ...p.dispositionParams }, { filename: 'plain name.exe', size: '42' })
    assert.equal(p.disposition, 'attachment')
  })

  test('an invalid Content-Type means text/plain, but its parameters still count', () => {
    const result = scan(lines(['Content-Type: garbage; name="x.exe"', '', 'x']))
    assert.equal(result.parts[0].contentType, 'text/plain')
    assert.deepEqual(result.parts[0].filenames, ['x.exe'])
  })

  test('topLevelHeaders: lower-case names, unfolded values as sent, the body not read', () => {
    const raw = lines(['Received: from a', '\tby b;', ' Mon, 4 May 2026', 'SUBJECT: =?utf-8?B?w6k=?=', 'Received : from c', '', 'Received: not a header'])
    assert.deepEqual(topLevelHeaders(raw, 1000), [
      { name: 'received', value: 'from a\tby b; Mon, 4 May 2026' },
      { name: 'subject', value: '=?utf-8?B?w6k=?=' },
      { name: 'received', value: 'from c' },
    ])
    assert.deepEqual(topLevelHeaders(Buffer.alloc(0), 1000), [])
  })
})

describe('file names', () => {
  test('RFC 2231: charset and percent-encoding', () => {
    assert.deepEqual(withPart(["Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.exe"]).filenames, ['€ rates.exe'])
    assert.deepEqual(withPart(["Content-Type: application/octet-stream; name*=iso-8859-1'en'caf%E9.exe"]).filenames, ['café.exe'])
    assert.deepEqual(withPart(["Content-Type: application/octet-stream; name*=''plain%2Eexe"]).filenames, ['plain.exe'])
    assert.deepEqual(withPart(['Content-Type: application/octet-stream; name*="utf-8\'\'quoted%2Eexe"']).filenames, ['quoted.exe'])
  })

  test('RFC 2231 continuations: in any order, mixed with plain segments, a character split across segments', () => {
    const p = withPart(["Content-Type: application/octet-stream; name*2=\"tes.exe\"; name*0*=UTF-8''%E2%82; name*1*=%AC%20ra"])
    // by number first; then as sent, as a client that does not sort them shows it
    assert.deepEqual(p.filenames, ['€ rates.exe', 'tes.exe€ ra'])
    assert.equal(p.params.name, '€ rates.exe')
    assert.deepEqual(withPart(['Content-Disposition: attachment;', ' filename*0="in"; filename*1="voice.pdf";', ' filename*2=".exe"']).filenames, ['invoice.pdf.exe'])
  })

  test('RFC 2047 encoded words in quoted and unquoted values; adjacent words joined without the space between them (6.2)', () => {
    assert.deepEqual(withPart(['Content-Type: application/octet-stream; name="=?utf-8?B?cmF0ZXMuZXhl?="']).filenames, ['rates.exe'])
    assert.deepEqual(withPart(['Content-Disposition: attachment; filename="=?iso-8859-1?Q?caf=E9?= =?iso-8859-1?Q?.exe?="']).filenames, ['café.exe'])
    assert.deepEqual(withPart(['Content-Disposition: attachment; filename==?utf-8?Q?=E2=82=AC_rates=2Eexe?=']).filenames, ['€ rates.exe'])
    // one UTF-8 character split over two words, and a folded value
    assert.deepEqual(withPart(['Content-Type: application/octet-stream;', ' name="=?UTF-8?B?4oI=?=', '\t=?UTF-8?B?rA==?=.exe"']).filenames, ['€.exe'])
    // text around the words stays, a space between a word and text stays
    assert.deepEqual(withPart(['Content-Type: a/b; name="x =?utf-8?q?y?= z.exe"']).filenames, ['x y z.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="=?windows-1252?Q?=80.exe?="']).filenames, ['€.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="=?x-unknown?Q?caf=E9.exe?="']).filenames, ['café.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="=?utf-7?Q?+IKw-_rates.exe?="']).filenames, ['€ rates.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="=?utf-8*en?B?cmF0ZXMuZXhl?="']).filenames, ['rates.exe'])
  })

  test('case, double extensions, trailing dots and spaces, control characters', () => {
    assert.deepEqual(withPart(['Content-Type: a/b; name=INVOICE.EXE']).filenames, ['INVOICE.EXE'])
    assert.deepEqual(withPart(['Content-Type: a/b; name=invoice.pdf.exe']).filenames, ['invoice.pdf.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="setup.exe."']).filenames, ['setup.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="setup.exe   "']).filenames, ['setup.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="setup.exe . . "']).filenames, ['setup.exe'])
    assert.deepEqual(withPart(["Content-Type: a/b; name*=utf-8''ev%00il.e%07xe%09%C2%85"]).filenames, ['evil.exe'])
    assert.deepEqual(withPart(['Content-Type: a/b; name="..."']).filenames, [])
  })

  test('names with paths are kept whole', () => {
    assert.deepEqual(withPart(['Content-Disposition: attachment; filename="C:\\x\\evil.exe"']).filenames, ['C:\\x\\evil.exe'])
    assert.deepEqual(withPart(['Content-Disposition: attachment; filename="C:\\\\x\\\\evil.exe"']).filenames, ['C:\\x\\evil.exe'])
    assert.deepEqual(withPart(['Content-Disposition: attachment; filename=a/b/evil.exe']).filenames, ['a/b/evil.exe'])
  })

  test('every name of a part, each once: both headers, both forms', () => {
    const p = withPart(['Content-Type: application/octet-stream; name="shown.pdf"; name*=UTF-8\'\'real.exe', 'Content-Disposition: attachment; filename="shown.pdf"; name=other.scr'])
    assert.deepEqual(p.filenames, ['shown.pdf', 'real.exe', 'other.scr'])
    assert.equal(p.params.name, 'real.exe')
  })

  test('uuencoded files in text bodies are named, encoded or not; not in other parts', () => {
    const exe = Buffer.concat([Buffer.from('MZ'), filler(200)])
    const uu = uuencode('Evil.EXE', exe)
    const raw = message(multipart('mixed', 'u', [
      textPart(`see\r\n${uu}\r\nbye`),
      entity(['Content-Type: text/plain', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.from(`x\r\n${uuencode('b64.scr', exe, '0755')}\r\n`))),
      entity(['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'], `x\r\n${uuencode('qp.pif', Buffer.from('abc')).replace(/=/g, '=3D')}\r\n`),
      entity(['Content-Type: application/octet-stream'], uu),
      entity(['Content-Type: text/plain'], 'in a sentence: begin 644 not.exe\r\nbegin 644\r\n'),
      entity(['Content-Type: text/plain'], 'begin-base64 644 b.exe\r\nTVqQ\r\n====\r\n'),
    ]))
    const result = scan(raw)
    assert.deepEqual(result.parts.map((p) => p.filenames), [[], ['Evil.EXE'], ['b64.scr'], ['qp.pif'], [], [], ['b.exe']])
    assert.deepEqual(uuencodedFiles(raw, part(result, '1'), 10000), [{ name: 'Evil.EXE', data: exe }])
    assert.deepEqual(uuencodedFiles(raw, part(result, '2'), 10000), [{ name: 'b64.scr', data: exe }])
    assert.deepEqual(uuencodedFiles(raw, part(result, '3'), 10000), [{ name: 'qp.pif', data: Buffer.from('abc') }])
    assert.deepEqual(uuencodedFiles(raw, part(result, '1'), 100), [{ name: 'Evil.EXE', data: undefined, head: exe.subarray(0, 16) }])
    assert.deepEqual(uuencodedFiles(raw, part(result, '4'), 10000), [])
    assert.deepEqual(uuencodedFiles(raw, part(result, '6'), 10000), [{ name: 'b.exe', data: Buffer.from('MZ\x90', 'latin1') }])
  })

  test('a message that is only a uuencoded text, LF line ends', () => {
    const raw = Buffer.from(`Subject: old style\n\nhere it is\n${uuencode('tool.com', Buffer.from('hello world')).replace(/\r\n/g, '\n')}\n`, 'latin1')
    const result = scan(raw)
    assert.deepEqual(result.parts[0].filenames, ['tool.com'])
    assert.deepEqual(uuencodedFiles(raw, result.parts[0], 100), [{ name: 'tool.com', data: Buffer.from('hello world') }])
  })
})

describe('limits and broken input', () => {
  test('maxParts: parts stop being recorded, the rest stays inside the last open part', () => {
    const raw = message(multipart('mixed', 'many', Array.from({ length: 50 }, (_, i) => attachment('application/pdf', `f${i}.pdf`, filler(20)))))
    const result = scan(raw, { maxParts: 10 })
    assert.equal(result.parts.length, 10)
    assert.deepEqual(kinds(result), ['too-many-parts'])
    assert.equal(result.parts[0].bodyEnd, raw.length)
    assert.deepEqual(part(result, '9').filenames, ['f8.pdf'])
    assert.ok(!bodyText(raw, part(result, '9')).includes('--many'))
    // the message itself is always there
    const none = scan(raw, { maxParts: 0 })
    assert.deepEqual(shape(none), [['', 'multipart/mixed']])
    assert.equal(none.parts[0].bodyEnd, raw.length)
  })

  test('uuencoded files count against maxParts', () => {
    const body = Array.from({ length: 20 }, (_, i) => uuencode(`f${i}.exe`, Buffer.from('x'))).join(CRLF)
    const result = scan(message(entity(['Content-Type: text/plain'], body)), { maxParts: 5 })
    assert.equal(result.parts[0].filenames.length, 5)
    assert.deepEqual(kinds(result), ['too-many-parts'])
  })

  /** A multipart nest, built in one go (repeated wrapping would copy the message once per level). */
  function nest(levels: number, boundary: (level: number) => string): Buffer {
    const open: string[] = []
    const close: string[] = []
    for (let i = 1; i <= levels; i++) {
      open.push(`Content-Type: multipart/mixed; boundary="${boundary(i)}"`, '', `--${boundary(i)}`)
      close.unshift(`--${boundary(i)}--`)
    }
    return message([...open, attachment('application/octet-stream', 'bottom.exe', filler(30)), ...close].join(CRLF))
  }

  test('a 2000-deep multipart nest finishes fast with the problem recorded', () => {
    const distinct = nest(2000, (i) => `level${i}`)
    let started = process.hrtime.bigint()
    const result = scan(distinct)
    let ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(`# 2000-deep nest, distinct boundaries: ${ms.toFixed(1)} ms, ${distinct.length} bytes\n`)
    assert.equal(result.parts.length, LIMITS.maxDepth + 1)
    assert.equal(Math.max(...result.parts.map((p) => p.depth)), LIMITS.maxDepth)
    assert.deepEqual(kinds(result), ['too-deep'])
    assert.ok(ms < 2000, `took ${ms} ms`)
    // with no limit in the way, still no recursion
    const deep = scan(distinct, { maxDepth: 5000, maxParts: 5000 })
    assert.equal(deep.parts.length, 2001)
    assert.deepEqual(deep.parts[2000].filenames, ['bottom.exe'])
    assert.deepEqual(deep.problems, [])

    // One boundary at every level (RFC 2046 5.1.2 forbids it): below the limit each
    // delimiter reads as one of the deepest open multipart, so the levels become
    // siblings, and the part limit ends it.
    const same = nest(2000, () => 'same')
    started = process.hrtime.bigint()
    const flat = scan(same)
    ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(`# 2000-deep nest, one boundary: ${ms.toFixed(1)} ms, ${same.length} bytes\n`)
    assert.equal(flat.parts.length, LIMITS.maxParts)
    assert.deepEqual(kinds(flat), ['too-deep', 'too-many-parts'])
    assert.ok(ms < 2000, `took ${ms} ms`)
    assert.equal(scan(same, { maxDepth: 5000, maxParts: 5000 }).parts.length, 2001)
  })

  test('a 2000-deep nest of attached messages', () => {
    let body = entity(['Content-Type: application/octet-stream; name=bottom.exe'], 'AAAA')
    for (let i = 0; i < 2000; i++) body = entity(['Content-Type: message/rfc822'], body)
    const result = scan(message(body))
    assert.equal(result.parts.length, LIMITS.maxDepth + 1)
    assert.deepEqual(kinds(result), ['too-deep'])
    assert.equal(scan(message(body), { maxDepth: 3000, maxParts: 3000 }).parts.length, 2001)
  })

  test('10 MB of random bytes', () => {
    const raw = filler(10 * 1024 * 1024, 42)
    let started = process.hrtime.bigint()
    const result = scan(raw)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(`# 10 MB random: ${ms.toFixed(1)} ms, ${result.parts.length} part(s), problems ${kinds(result).join(' ') || 'none'}\n`)
    assert.ok(result.parts.length >= 1)
    topLevelHeaders(raw, LIMITS.maxHeaderBytes)
    // random bytes after a multipart header, with a line break and "--" for every byte under "!":
    // many lines to compare with the boundary, and with a short boundary, many parts
    const dashes = Buffer.from(filler(10 * 1024 * 1024, 3).toString('latin1').replace(/[^!-\xff]/g, '\n--'), 'latin1')
    const framed = Buffer.concat([lines(['Content-Type: multipart/mixed; boundary=not-in-the-random-bytes', '', '--not-in-the-random-bytes', '', '']), dashes])
    started = process.hrtime.bigint()
    assert.deepEqual(shape(scan(framed)), [['', 'multipart/mixed'], ['1', 'text/plain']])
    const framedMs = Number(process.hrtime.bigint() - started) / 1e6
    const short = Buffer.concat([lines(['Content-Type: multipart/mixed; boundary=b', '', '']), dashes])
    started = process.hrtime.bigint()
    const many = scan(short)
    const shortMs = Number(process.hrtime.bigint() - started) / 1e6
    assert.equal(many.parts.length, LIMITS.maxParts)
    assert.ok(kinds(many).includes('too-many-parts'))
    process.stdout.write(`# 10 MB random with ${dashes.toString('latin1').split('\n--').length} "--" lines: ${framedMs.toFixed(1)} ms; boundary "b": ${shortMs.toFixed(1)} ms\n`)
  })

  test('no empty line after the header, only a header, an empty message', () => {
    const noBlank = lines(['Subject: x', 'Content-Type: text/plain', 'Hello, body without a separator', 'more'])
    const r1 = scan(noBlank)
    assert.equal(bodyText(noBlank, r1.parts[0]), 'Hello, body without a separator\r\nmore')
    assert.deepEqual(kinds(r1), ['bad-header'])
    const onlyHeader = lines(['Subject: x', 'Content-Type: application/x-msdownload; name=a.exe', ''])
    const r2 = scan(onlyHeader)
    assert.deepEqual(r2.parts[0].filenames, ['a.exe'])
    assert.equal(r2.parts[0].bodyStart, onlyHeader.length)
    const noEnd = lines(['Subject: x', 'Content-Type: multipart/mixed; boundary=b'])
    assert.deepEqual(kinds(scan(noEnd)), ['unterminated-multipart'])
    assert.deepEqual(shape(scan(Buffer.alloc(0))), [['', 'text/plain']])
    // headerless multipart straight after the boundary line: the missing empty line is seen
    const raw = lines(['Content-Type: multipart/mixed; boundary=b', '--b', 'Content-Type: application/octet-stream; name=x.exe', '', 'A', '--b--'])
    assert.deepEqual(part(scan(raw), '1').filenames, ['x.exe'])
  })

  test('LF-only line ends give the same parts as CRLF', () => {
    const crlf = message(multipart('mixed', 'o', [multipart('alternative', 'i', [textPart('a'), textPart('b')]), attachment('application/pdf', 'a.pdf', filler(200))]))
    const lf = Buffer.from(crlf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')
    const a = scan(crlf)
    const b = scan(lf)
    assert.deepEqual(shape(b), shape(a))
    assert.deepEqual(b.parts.map((p) => p.filenames), a.parts.map((p) => p.filenames))
    assert.deepEqual(b.parts.map((p) => bodyText(lf, p).replace(/\n/g, '')), a.parts.map((p) => bodyText(crlf, p).replace(/\r\n/g, '')))
    assert.deepEqual(partBody(lf, part(b, '2'), 1000), filler(200))
  })

  test('NUL bytes in bodies and headers', () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\nX-Nul: a\x00b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name="a\x00.exe"\r\n\r\n\x00\x00\x00\r\n--b--\r\n\x00', 'latin1')
    const result = scan(raw)
    assert.deepEqual(part(result, '1').filenames, ['a.exe'])
    assert.deepEqual(partBody(raw, part(result, '1'), 100), Buffer.from([0, 0, 0]))
  })
})

describe('part bodies', () => {
  function single(headers: readonly string[], body: string): { raw: Buffer; p: MimePart } {
    const raw = lines([...headers, '', body])
    return { raw, p: scan(raw).parts[0] }
  }

  test('base64: lines, junk and padding between chunks; the size limit', () => {
    const data = filler(1000)
    const { raw, p } = single(['Content-Transfer-Encoding: base64'], base64Lines(data))
    assert.deepEqual(partBody(raw, p, 1000), data)
    assert.equal(partBody(raw, p, 999), undefined)
    const chunks = single(['Content-Transfer-Encoding: base64'], 'QQ==QkM=\r\n  RA==')
    assert.equal(partBody(chunks.raw, chunks.p, 100)?.toString(), 'ABCD')
    assert.equal(partBody(chunks.raw, chunks.p, 3), undefined)
    const junk = single(['Content-Transfer-Encoding: base64'], 'QU*JD\r\n!RE\x00VG')
    assert.equal(partBody(junk.raw, junk.p, 100)?.toString(), 'ABCDEF')
  })

  test('quoted-printable: escapes, soft line breaks, trailing white space, stray "="', () => {
    const { raw, p } = single(['Content-Transfer-Encoding: Quoted-Printable'], 'caf=E9 =3d=3D \t\r\nsoft=  \r\nbreak=\r\n here= =zz =\r\nend=')
    assert.equal(p.encoding, 'quoted-printable')
    assert.equal(partBody(raw, p, 1000)?.toString('latin1'), 'café ==\r\nsoftbreak here= =zz end')
    assert.equal(partBody(raw, p, 10), undefined)
    const lf = single(['Content-Transfer-Encoding: quoted-printable'], 'a=\nb  \nc')
    assert.equal(partBody(lf.raw, lf.p, 100)?.toString(), 'ab\nc')
  })

  test('7bit, 8bit, binary and unknown encodings are the bytes as sent', () => {
    for (const cte of ['7bit', '8bit', 'binary', 'x-strange', '']) {
      const { raw, p } = single(cte ? [`Content-Transfer-Encoding: ${cte}`] : [], 'raw \xff bytes')
      assert.equal(p.encoding, cte || '7bit')
      assert.equal(partBody(raw, p, 100)?.toString('latin1'), 'raw \xff bytes')
      assert.equal(partBody(raw, p, 5), undefined)
    }
  })

  test('a uuencoded body (x-uuencode) is its file', () => {
    const { raw, p } = single(['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: x-uuencode'], uuencode('u.exe', filler(100)))
    assert.deepEqual(p.filenames, ['u.exe'])
    assert.deepEqual(partBody(raw, p, 100), filler(100))
    assert.equal(partBody(raw, p, 99), undefined)
    const begin = raw.indexOf('begin')
    assert.deepEqual(decodeUuencoded(raw, { name: 'u.exe', lineStart: begin, dataStart: raw.indexOf('\n', begin) + 1, dataEnd: raw.length, form: 'uu' }, 1000), filler(100))
  })
})

describe('speed', () => {
  test('a 200 KB message with a 150 KB base64 attachment (printed, not asserted)', () => {
    const raw = speedMessage()
    const result = scan(raw)
    assert.deepEqual(shape(result), [['', 'multipart/mixed'], ['1', 'multipart/alternative'], ['1.1', 'text/plain'], ['1.2', 'text/html'], ['2', 'application/pdf']])
    assert.deepEqual(part(result, '2').filenames, ['rates.pdf'])
    for (let i = 0; i < 200; i++) scanMime(raw, LIMITS)
    const rounds = 1000
    const started = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) scanMime(raw, LIMITS)
    const us = Number(process.hrtime.bigint() - started) / 1e3 / rounds
    process.stdout.write(`# scanMime: ${raw.length} bytes, ${rounds} scans, ${us.toFixed(1)} µs per scan\n`)
    const decodeStarted = process.hrtime.bigint()
    for (let i = 0; i < 100; i++) partBody(raw, part(result, '2'), 1 << 20)
    const decodeUs = Number(process.hrtime.bigint() - decodeStarted) / 1e3 / 100
    process.stdout.write(`# partBody of the 150 KB attachment: ${decodeUs.toFixed(1)} µs\n`)
  })
})
