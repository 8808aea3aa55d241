// The other readings of a disputed message, through gatherAttachments: what
// they find is judged by names (G1A for a program inside a zip), never as
// an unsafe archive; their budget, once spent, is a limit; and a zip behind
// a prefix in a clean attachment is found from its end record.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { gatherAttachments, Gathered } from '../../../plugins/lib/content/attachment-facts'
import { attachmentCheck } from '../../../plugins/lib/checks/attachments'
import { scanMime, ScanLimits } from '../../../plugins/lib/mime/scan'
import { base64Lines, entity, filler, message, multipart, textPart } from '../../fixtures/mime/messages'
import { PROGRAM, randomPk, zipOf } from '../../rig/zip-corpus'

const SCAN: ScanLimits = { maxParts: 1000, maxDepth: 50, maxHeaderBytes: 102400 }
const ARCHIVE = { maxDepth: 5, maxEntries: 1000, maxNestedBytes: 10 * 1024 * 1024, maxRatio: 100, maxTotalBytes: 50 * 1024 * 1024 }
const CFG = { archives: true, banned: true, winzip: true, clsid: true, unsafe_archive: 'reject' as const }
const BANNED = new Set(['exe', 'com', 'scr'])

function gathered(raw: Buffer, archive = ARCHIVE): Gathered {
  return gatherAttachments(raw, scanMime(raw, SCAN), { archives: true, maxArchiveBytes: 25 * 1024 * 1024, limits: archive, scanLimits: SCAN, maxEncodedMessages: 3 })
}

const payload = zipOf({ 'payload.com': PROGRAM })
const benign = zipOf({ 'report.pdf': '%PDF-1.4 report' })

describe('a disputed message read every way', () => {
  test('a junk line before the blank line: the part after the delimiter, read as base64, holds payload.com (G1A)', () => {
    const raw = message(multipart('mixed', 'q1', [textPart('hi'), `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\njunk line here\r\n\r\n${base64Lines(payload)}`]))
    const g = gathered(raw)
    assert.deepEqual(attachmentCheck(g.facts, CFG, BANNED)?.id, 'G1A')
    assert.ok(g.facts.archives.some((a) => a.entries.includes('payload.com') && a.unsafe === undefined), JSON.stringify(g.facts.archives))
    assert.match(g.problems?.join(' ') ?? '', /^read every way: /)
  })

  test('its benign twin (a zip of a PDF) is accepted', () => {
    const raw = message(multipart('mixed', 'q1', [textPart('hi'), `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\njunk line here\r\n\r\n${base64Lines(benign)}`]))
    assert.equal(attachmentCheck(gathered(raw).facts, CFG, BANNED), undefined)
  })

  test('random bytes with "PK" headers in a disputed part: never an unsafe archive', () => {
    const raw = message(multipart('mixed', 'q1', [entity(['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.concat([filler(500, 9), randomPk(11, 4000)])))]))
    const g = gathered(raw)
    assert.ok(g.facts.archives.every((a) => a.unsafe === undefined || a.attachment === 'part 1'), JSON.stringify(g.facts.archives))
    assert.equal(g.limit, undefined)
  })

  test('a budget used up is the "readings" limit: the mail is not accepted', () => {
    const many = zipOf(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, 'x'])))
    const raw = message(multipart('mixed', 'q1', [entity(['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64'], base64Lines(many))]))
    const g = gathered(raw, { ...ARCHIVE, maxEntries: 10 })
    assert.equal(g.limit?.name, 'readings')
    assert.match(g.limit?.detail ?? '', /used up their budget of zip entries/)
  })
})

describe('a zip behind a prefix in a clean attachment', () => {
  const behind = Buffer.concat([filler(3000, 5), payload])

  test('found from its end record and judged by its names: G1A', () => {
    const raw = message(multipart('mixed', 'b', [textPart('setup'), entity(['Content-Type: application/octet-stream; name=setup.bin', 'Content-Transfer-Encoding: base64'], base64Lines(behind))]))
    const g = gathered(raw)
    assert.deepEqual(g.facts.archives, [{ attachment: 'setup.bin', entries: ['payload.com'], unsafe: undefined }])
    assert.equal(g.problems, undefined)
  })

  test('sent as binary, the same', () => {
    const head = message(entity(['Content-Type: multipart/mixed; boundary="b"'], '--b\r\n' + textPart('setup') + '\r\n--b\r\nContent-Type: application/octet-stream; name=setup.bin\r\nContent-Transfer-Encoding: binary\r\n\r\n'))
    const raw = Buffer.concat([head, behind, Buffer.from('\r\n--b--\r\n')])
    assert.equal(attachmentCheck(gathered(raw).facts, CFG, BANNED)?.id, 'G1A')
  })

  test('a PDF with no zip end record is not decoded for it', () => {
    const raw = message(multipart('mixed', 'b', [textPart('report'), entity(['Content-Type: application/pdf; name=report.pdf', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.concat([Buffer.from('%PDF-1.4\n'), filler(5000, 2), Buffer.from('PK\x03\x04 not a zip'), Buffer.from('\n%%EOF\n')])))]))
    assert.deepEqual(gathered(raw).facts.archives, [])
  })
})
