// Attachment facts for parts that repeat their MIME fields: an archive found
// only through the second Content-Transfer-Encoding is judged by the names
// inside it (G1A), never as unsafe for that reading alone, and a banned name
// in a second Content-Disposition is judged (G1B).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AttachmentFacts, gatherAttachments } from '../../../plugins/lib/content/attachment-facts'
import { attachmentCheck } from '../../../plugins/lib/checks/attachments'
import { scanMime, ScanLimits } from '../../../plugins/lib/mime/scan'
import { base64Lines, entity, message, multipart } from '../../fixtures/mime/messages'
import { PROGRAM, randomPk, zipOf } from '../../rig/zip-corpus'

const SCAN: ScanLimits = { maxParts: 500, maxDepth: 30, maxHeaderBytes: 64 * 1024 }
const ARCHIVE = { maxDepth: 5, maxEntries: 1000, maxNestedBytes: 10 * 1024 * 1024, maxRatio: 100, maxTotalBytes: 100 * 1024 * 1024 }
const CFG = { archives: true, banned: true, winzip: true, clsid: true, unsafe_archive: 'reject' as const }
const BANNED = new Set(['exe', 'com', 'scr'])

function facts(headers: readonly string[], body: string): AttachmentFacts {
  const raw = message(multipart('mixed', 'b', [entity(headers, body)]))
  return gatherAttachments(raw, scanMime(raw, SCAN), { archives: true, maxArchiveBytes: 10 * 1024 * 1024, limits: ARCHIVE, scanLimits: SCAN, maxEncodedMessages: 2 }).facts
}

const twoEncodings = ['Content-Type: application/zip; name=files.zip', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64']

describe('repeated MIME fields in the attachment facts', () => {
  test('7bit then base64 over a zip holding invoice.exe: the base64 reading is judged, G1A', () => {
    const f = facts(twoEncodings, base64Lines(zipOf({ 'invoice.exe': PROGRAM })))
    assert.deepEqual(f.archives, [{ attachment: 'files.zip', entries: ['invoice.exe'], unsafe: undefined }])
    assert.deepEqual(attachmentCheck(f, CFG, BANNED), { id: 'G1A', reason: 'files.zip > invoice.exe' })
  })

  test('base64 then 7bit: the first reading already finds it', () => {
    const f = facts([twoEncodings[0], twoEncodings[2], twoEncodings[1]], base64Lines(zipOf({ 'invoice.exe': PROGRAM })))
    assert.deepEqual(f.archives.map((a) => a.entries), [['invoice.exe']])
    assert.equal(attachmentCheck(f, CFG, BANNED)?.id, 'G1A')
  })

  test('benign twin: 7bit then base64 over a zip of a PDF is accepted', () => {
    const f = facts(twoEncodings, base64Lines(zipOf({ 'report.pdf': '%PDF-1.4 x' })))
    assert.deepEqual(f.archives, [{ attachment: 'files.zip', entries: ['report.pdf'], unsafe: undefined }])
    assert.equal(attachmentCheck(f, CFG, BANNED), undefined)
  })

  test('an archive the second reading cannot show safe is not called unsafe', () => {
    const junk = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomPk(7, 600)])
    // read as declared by the first field, the same bytes are unsafe
    assert.ok(facts([twoEncodings[0], twoEncodings[2]], base64Lines(junk)).archives[0]?.unsafe)
    const f = facts(twoEncodings, base64Lines(junk))
    assert.ok(f.archives.every((a) => a.unsafe === undefined), JSON.stringify(f.archives))
    assert.equal(attachmentCheck(f, CFG, BANNED), undefined)
  })

  test('a banned name in the second Content-Disposition: G1B', () => {
    const f = facts(['Content-Type: application/pdf', 'Content-Disposition: attachment; filename=report.pdf', 'Content-Disposition: attachment; filename=invoice.exe', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.from('%PDF-1.4 x')))
    assert.deepEqual(attachmentCheck(f, CFG, BANNED), { id: 'G1B', reason: 'attachment invoice.exe' })
  })

  test('benign twin: two harmless Content-Disposition names are accepted', () => {
    const f = facts(['Content-Type: application/pdf', 'Content-Disposition: attachment; filename=a.pdf', 'Content-Disposition: attachment; filename=b.pdf', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.from('%PDF-1.4 x')))
    assert.deepEqual(f.filenames, ['a.pdf', 'b.pdf'])
    assert.equal(attachmentCheck(f, CFG, BANNED), undefined)
  })
})
