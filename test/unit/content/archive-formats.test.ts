// Archives of every format, built by the real tools (test/rig/archive-tools.ts;
// RAR from public test suites), attached under an innocent name and type and
// judged as the data phase judges them: the content scan with the archive
// readers, then a scan limit (limitVerdict) or the attachment check, with the
// package's defaults. An archive holding invoice.exe is G1A naming the path
// through its containers; one holding only report.pdf is accepted; nested
// archives are read through; each bomb shape is refused as "cannot be shown
// safe" (or, 1 GiB of zeros never inflated, judged by its name).
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../../rig/haraka'
import { ArchiveCase, archiveCasesOrMissing } from '../../rig/archive-cases'
import { attachmentCheck } from '../../../plugins/lib/checks/attachments'
import { Verdict } from '../../../plugins/lib/codes/render'
import { readSettings } from '../../../plugins/lib/config/settings'
import { ArchiveReaders, loadArchiveReaders } from '../../../plugins/lib/content/archive/readers'
import { ContentFacts, scanWithReaders } from '../../../plugins/lib/content/scan'
import { limitVerdict, parseBannedExtensions } from '../../../plugins/lib/phases/data'

const own = readSettings('support-codes-data.ini', {}).settings
const BANNED = parseBannedExtensions(fs.readFileSync(path.join(ROOT, 'config', 'support-codes.banned_extensions'), 'utf8').split('\n'), (m) => {
  throw new Error(m)
})

const { cases, missing } = archiveCasesOrMissing()

let readers: ArchiveReaders
before(async () => {
  readers = await loadArchiveReaders()
})

async function judge(raw: Buffer): Promise<{ verdict: Verdict | undefined; facts: ContentFacts }> {
  // as the scan thread does: an archive that used up 7-Zip's instance waits for the next one
  const facts = await scanWithReaders(raw, own, async () => readers)
  if (facts.limit) return { verdict: limitVerdict(facts.limit, own), facts }
  return { verdict: facts.attachments && attachmentCheck(facts.attachments, own.attachments, BANNED), facts }
}

/** What the scan saw, for a failure's message. */
function saw(facts: ContentFacts): string {
  const a = facts.attachments
  return JSON.stringify({ names: a?.filenames, archives: a?.archives, problems: facts.problems, limit: facts.limit })
}

describe('archives built by the real tools', () => {
  test('7-Zip, genisoimage, xorriso, tar, gzip and gcab are installed (test/setup.sh installs them)', () => {
    if (missing) throw missing
  })

  test('every format has an archive holding invoice.exe refused and one holding report.pdf accepted', () => {
    for (const format of ['7z', 'rar4', 'rar5', 'iso', 'img', 'udf', 'tar', 'gzip', 'cab']) {
      const ofFormat = cases.filter((c) => c.format === format)
      assert.ok(ofFormat.some((c) => c.refused && !c.refused.source.includes('cannot be shown safe')), `${format}: no banned file`)
      assert.ok(ofFormat.some((c) => !c.refused), `${format}: nothing accepted`)
    }
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'names are unique')
  })

  for (const c of cases) {
    test(`${c.name} → ${c.refused ? 'G1A' : 'accepted'}`, async () => {
      const { verdict, facts } = await judge(c.message)
      const got = `${verdict?.id ?? 'accepted'}: ${verdict?.reason ?? ''}; saw ${saw(facts)}`
      if (!c.refused) {
        assert.equal(verdict, undefined, got)
        return
      }
      assert.equal(verdict?.id, 'G1A', got)
      assert.match(verdict?.reason ?? '', c.refused, got)
    })
  }

  // 7-Zip stops on a header it cannot decrypt by throwing out of its module,
  // which is then loaded again: the message after must not see it.
  test('archives judged right after one with encrypted headers are judged on their own', async () => {
    const byName = (name: string): ArchiveCase => {
      const c = cases.find((x) => x.name === name)
      assert.ok(c, name)
      return c
    }
    const locked = byName('7z: encrypted header (-mhe=on)').message
    for (const next of [byName('7z: LZMA2, header packed holding report.pdf'), byName('rar5: solid, test3.bin renamed test3.exe'), byName('tar: truncated in a member')]) {
      assert.equal((await judge(locked)).verdict?.id, 'G1A')
      const { verdict, facts } = await judge(next.message)
      const got = `${verdict?.id ?? 'accepted'}: ${verdict?.reason ?? ''}; saw ${saw(facts)}`
      if (next.refused) assert.match(verdict?.reason ?? '', next.refused, `${next.name}: ${got}`)
      else assert.equal(verdict, undefined, `${next.name}: ${got}`)
    }
  })
})
