// Every message of the disguise generator (test/rig/disguise-gen.ts) through
// the content scan and the attachment check with the package's defaults
// (support-codes-data.ini, support-codes.banned_extensions), as the data
// phase runs them: a scan limit reached is G1A (limitVerdict), else the
// attachment check judges. A hostile message must be refused for what it
// hides (G1A naming payload.com inside the zip, or G1B naming the banned
// name), never for a limit; a benign one must be accepted. The generator's
// own promises (same bytes every call, every class covered, bytes Haraka
// takes as they are) are tested first.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../../rig/haraka'
import { Disguise, disguiseClasses, disguises } from '../../rig/disguise-gen'
import { attachmentCheck } from '../../../plugins/lib/checks/attachments'
import { Verdict } from '../../../plugins/lib/codes/render'
import { readSettings } from '../../../plugins/lib/config/settings'
import { ContentFacts, scanContent } from '../../../plugins/lib/content/scan'
import { limitVerdict, parseBannedExtensions } from '../../../plugins/lib/phases/data'

const own = readSettings('support-codes-data.ini', {}).settings
const BANNED = parseBannedExtensions(fs.readFileSync(path.join(ROOT, 'config', 'support-codes.banned_extensions'), 'utf8').split('\n'), (m) => {
  throw new Error(m)
})
const ALL = disguises()

function judge(raw: Buffer): { verdict: Verdict | undefined; facts: ContentFacts } {
  const facts = scanContent(raw, own)
  if (facts.limit) return { verdict: limitVerdict(facts.limit, own), facts }
  return { verdict: facts.attachments && attachmentCheck(facts.attachments, own.attachments, BANNED), facts }
}

/** What the scan saw, for a failure's message. */
function saw(facts: ContentFacts): string {
  const a = facts.attachments
  return JSON.stringify({ types: facts.contentTypes, names: a?.filenames, archives: a?.archives, problems: facts.problems, limit: facts.limit })
}

describe('the disguise generator', () => {
  test('the same messages, in the same order, on every call', () => {
    const again = disguises()
    assert.deepEqual(again.map((d) => d.name), ALL.map((d) => d.name))
    for (const [i, d] of again.entries()) assert.ok(d.message.equals(ALL[i].message), d.name)
  })

  test('every class has hostile messages; 60-120 hostile, 10 or more combined, benign twins and ordinary mail', () => {
    const hostile = ALL.filter((d) => d.hostile)
    for (const cls of disguiseClasses.filter((c) => c !== 'ordinary')) {
      assert.ok(hostile.some((d) => d.cls === cls), `no hostile ${cls}`)
      assert.ok(ALL.some((d) => d.cls === cls && !d.hostile), `no benign twin in ${cls}`)
    }
    assert.ok(hostile.length >= 60 && hostile.length <= 120, `${hostile.length} hostile`)
    assert.ok(hostile.filter((d) => d.cls === 'combined').length >= 10)
    assert.ok(ALL.filter((d) => d.cls === 'ordinary').length >= 7)
    assert.equal(new Set(ALL.map((d) => d.name)).size, ALL.length, 'names are unique')
    for (const d of ALL) assert.equal(d.verdict !== undefined, d.hostile, d.name)
    assert.deepEqual(new Set(hostile.filter((d) => d.cls === 'file-name').map((d) => d.verdict)), new Set(['G1B']))
  })

  test('every message is CRLF text Haraka keeps as it is: no bare LF, lines under its 992-octet limit, the header fields every message has', () => {
    for (const d of ALL) {
      const text = d.message.toString('latin1')
      assert.ok(text.endsWith('\r\n'), d.name)
      assert.doesNotMatch(text, /(^|[^\r])\n/, `${d.name}: bare LF`)
      const longest = Math.max(...text.split('\r\n').map((l) => l.length))
      assert.ok(longest < 990, `${d.name}: a line of ${longest} octets`)
      for (const field of ['From', 'To', 'Subject', 'Date', 'Message-ID']) assert.match(text, new RegExp(`^${field}: `, 'm'), `${d.name}: ${field}`)
    }
  })
})

describe('hostile disguises are refused for the file they hide', () => {
  for (const d of ALL.filter((x) => x.hostile)) {
    test(`${d.name}: ${d.how} → ${d.verdict}`, () => refused(d))
  }
})

describe('benign twins and ordinary mail are accepted', () => {
  for (const d of ALL.filter((x) => !x.hostile)) {
    test(`${d.name}: ${d.how}`, () => {
      const { verdict, facts } = judge(d.message)
      assert.equal(verdict, undefined, `${verdict?.id}: ${verdict?.reason}; saw ${saw(facts)}`)
    })
  }
})

function refused(d: Disguise): void {
  const { verdict, facts } = judge(d.message)
  const got = `${verdict?.id ?? 'accepted'}: ${verdict?.reason ?? ''}; saw ${saw(facts)}`
  assert.equal(verdict?.id, d.verdict, got)
  // the file itself, not a limit or an archive merely unsafe
  const reason = d.verdict === 'G1A' ? / > payload\.com$/ : /^attachment .*\.com$/
  assert.match(verdict?.reason ?? '', reason, got)
}
