// A part that repeats Content-Type, Content-Disposition or
// Content-Transfer-Encoding: clients disagree on which one counts (most take
// the first, mutt the last), so the scanner keeps the first as the part's
// type and encoding, and also every file name and every distinct encoding.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MimePart, scanMime, ScanLimits } from '../../../plugins/lib/mime/scan'
import { assertSound } from '../../fixtures/mime/sound'
import { entity, message, multipart } from '../../fixtures/mime/messages'

const LIMITS: ScanLimits = { maxParts: 500, maxDepth: 30, maxHeaderBytes: 64 * 1024 }

function withPart(headers: readonly string[], body = 'AAAA'): MimePart {
  const raw = message(multipart('mixed', 'b', [entity(headers, body)]))
  const result = scanMime(raw, LIMITS)
  assertSound(raw, result)
  const found = result.parts.find((p) => p.path === '1')
  assert.ok(found)
  return found
}

describe('repeated MIME fields', () => {
  test('the names of a second Content-Disposition are kept; the first stays the disposition', () => {
    const p = withPart(['Content-Type: application/pdf', 'Content-Disposition: inline; filename=report.pdf', 'Content-Disposition: attachment; filename=invoice.exe'])
    assert.deepEqual(p.filenames, ['report.pdf', 'invoice.exe'])
    assert.equal(p.disposition, 'inline')
    assert.deepEqual({ ...p.dispositionParams }, { filename: 'report.pdf' })
  })

  test('the names of a second Content-Type are kept; the first stays the type', () => {
    const p = withPart(['Content-Type: application/pdf; name=report.pdf', 'Content-Type: application/x-msdownload; name=invoice.exe'])
    assert.deepEqual(p.filenames, ['report.pdf', 'invoice.exe'])
    assert.equal(p.contentType, 'application/pdf')
    assert.deepEqual({ ...p.params }, { name: 'report.pdf' })
  })

  test('two harmless Content-Disposition fields: both names, nothing else', () => {
    const p = withPart(['Content-Type: application/pdf', 'Content-Disposition: attachment; filename=a.pdf', 'Content-Disposition: attachment; filename=b.pdf'])
    assert.deepEqual(p.filenames, ['a.pdf', 'b.pdf'])
  })

  test('two different Content-Transfer-Encoding fields: the first is the encoding, both are kept', () => {
    const p = withPart(['Content-Type: application/zip', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: BASE64'])
    assert.equal(p.encoding, '7bit')
    assert.deepEqual(p.encodings, ['7bit', 'base64'])
  })

  test('one Content-Transfer-Encoding, or the same one twice: no encodings list', () => {
    assert.equal(withPart(['Content-Transfer-Encoding: base64']).encodings, undefined)
    const p = withPart(['Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: Base64'])
    assert.equal(p.encoding, 'base64')
    assert.equal(p.encodings, undefined)
  })

  test('at most the first 4 Content-Transfer-Encoding fields are read', () => {
    const p = withPart(['7bit', '8bit', 'binary', 'x-a', 'base64', 'quoted-printable'].map((e) => `Content-Transfer-Encoding: ${e}`))
    assert.deepEqual(p.encodings, ['7bit', '8bit', 'binary', 'x-a'])
  })
})
