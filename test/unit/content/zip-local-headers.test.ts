// Archives found by content anywhere (issue 16 item 2): entry names from
// local headers wherever they stand, the central directory too where an end
// record follows, nested archives within the caps; exact names, no throw on
// any input, and the message's archive budget respected.
import { describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
// The module itself, not a namespace copy, so that mock.method reaches the code under test.
import zlib from 'node:zlib'
import { MAX_INFLATIONS, MAX_NAME_CHARS, MAX_SNIFFED_MEMBERS, zipEntriesAnywhere, type FoundEntries } from '../../../plugins/lib/content/zip/local-headers'
import type { ArchiveBudget, ArchiveLimits } from '../../../plugins/lib/content/zip/archive'
import { directoryEnd } from '../../../plugins/lib/content/zip/directory'
import { ScanDeadlineError } from '../../../plugins/lib/mime/deadline'
import type { Ticker } from '../../../plugins/lib/mime/types'
import * as corpus from '../../rig/zip-corpus'

const MiB = 1 << 20
const LIMITS: ArchiveLimits = { maxDepth: 5, maxEntries: 1000, maxNestedBytes: 10 * MiB, maxRatio: 100, maxTotalBytes: 32 * MiB }
const LOCAL = Buffer.from('PK\x03\x04', 'latin1')

const fresh = (limits = LIMITS): ArchiveBudget => ({ entries: limits.maxEntries, bytes: limits.maxTotalBytes })

function found(data: Buffer, budget = fresh(), limits = LIMITS, deadline?: Ticker): FoundEntries {
  return zipEntriesAnywhere(data, limits, budget, deadline)
}

/** The archive without its central directory and end record, as a cut-off download. */
function withoutDirectory(zip: Buffer): Buffer {
  const end = directoryEnd(zip)
  assert.ok(end, 'the test archive has a directory')
  return corpus.truncated(zip, end.offset)
}

/** Every offset of a local header signature. */
function signatures(data: Buffer): number[] {
  const at: number[] = []
  for (let hit = data.indexOf(LOCAL); hit >= 0; hit = data.indexOf(LOCAL, hit + 1)) at.push(hit)
  return at
}

/** Random bytes with no local header signature in them. */
function noise(seed: number, length: number): Buffer {
  const bytes = corpus.randomBytes(seed, length)
  for (const at of signatures(bytes)) bytes[at] = 0
  return bytes
}

/** A Ticker that counts its calls, and can say the deadline has passed. */
function counter(passAfter = Infinity): Ticker & { ticks: number; checks: number[] } {
  return {
    ticks: 0,
    checks: [],
    tick() {
      if (++this.ticks > passAfter) throw new ScanDeadlineError('deadline passed')
    },
    check(stepBytes = 0) {
      this.checks.push(stepBytes)
    },
  }
}

const SAMPLE = corpus.zipOf({ 'readme.txt': 'hello\n', 'x.com': corpus.PROGRAM })
const INNER = corpus.zipOf({ 'x.com': corpus.PROGRAM })

describe('zip entries found anywhere', () => {
  test('a zip after 1000 random bytes: names', () => {
    const prefix = noise(1, 1000)
    const result = found(Buffer.concat([prefix, SAMPLE]))
    assert.deepEqual(result, { names: ['readme.txt', 'x.com'], offsets: signatures(SAMPLE).map((at) => at + 1000) })
  })

  test('a zip with its central directory cut off: names from local headers', () => {
    const cut = withoutDirectory(SAMPLE)
    assert.equal(cut.includes(Buffer.from('PK\x01\x02', 'latin1')), false)
    const budget = fresh()
    assert.deepEqual(found(cut, budget), { names: ['readme.txt', 'x.com'], offsets: [0, signatures(cut)[1]] })
    assert.equal(budget.entries, LIMITS.maxEntries - 2)
  })

  test('a zip in the middle of random data', () => {
    const data = Buffer.concat([noise(2, 5000), withoutDirectory(SAMPLE), noise(3, 100_000)])
    assert.deepEqual(found(data).names, ['readme.txt', 'x.com'])
  })

  test('a zip behind junk holding a stray local header: the directory is still read from where its end record puts it', () => {
    // The local header names another file than the directory: each reading shows one name.
    const zip = corpus.writeZip([{ name: 'readme.txt', data: corpus.PROGRAM, lie: { localName: 'evil.com' } }])
    const stray = Buffer.concat([LOCAL, Buffer.alloc(22), Buffer.from([3, 0, 0, 0]), Buffer.from('a.b')])
    const data = Buffer.concat([noise(4, 300), stray, noise(5, 300), zip])
    assert.deepEqual(found(data).names, ['a.b', 'evil.com', 'readme.txt'])
  })

  test('a stored nested zip: "inner.zip > x.com", with and without the directories', () => {
    const outer = corpus.zipOf({ 'inner.zip': INNER }, { store: true })
    assert.deepEqual(found(outer).names, ['inner.zip', 'inner.zip > x.com'])
    // Only the inner directory is left: its end record is the last, inside the stored member.
    assert.deepEqual(found(withoutDirectory(outer)).names, ['inner.zip', 'inner.zip > x.com'])
    // A stored member under any name is read by its content.
    const renamed = corpus.writeZip([{ name: 'photo.jpg', data: withoutDirectory(INNER), method: 0 }])
    assert.deepEqual(found(withoutDirectory(renamed)).names, ['photo.jpg', 'photo.jpg > x.com'])
  })

  test('a deflated nested zip: "inner.zip > x.com", with a known size, with a data descriptor; under another name, not opened', () => {
    const outer = corpus.zipOf({ 'readme.txt': 'hi', 'inner.zip': INNER })
    assert.deepEqual(found(outer).names, ['readme.txt', 'inner.zip', 'inner.zip > x.com'])
    assert.deepEqual(found(withoutDirectory(outer)).names, ['readme.txt', 'inner.zip', 'inner.zip > x.com'])
    const streamed = corpus.writeZip([{ name: 'inner.zip', data: INNER, descriptor: true }, { name: 'after.txt', data: 'x' }])
    assert.deepEqual(found(withoutDirectory(streamed)).names, ['inner.zip', 'inner.zip > x.com', 'after.txt'])
    // No name to go by: not inflated, as the declared reading does not (archive.ts); only its name is read.
    // (Text before it, so that deflate codes the archive's bytes rather than storing them as they are.)
    const renamed = corpus.writeZip([{ name: 'data.bin', data: Buffer.concat([Buffer.from('some text '.repeat(70)), INNER]) }])
    assert.equal(withoutDirectory(renamed).indexOf(LOCAL, 1), -1)
    assert.deepEqual(found(withoutDirectory(renamed)).names, ['data.bin'])
  })

  test('archives deeper than maxDepth are not inflated; stored ones are read where they lie', () => {
    // As inspectArchive counts: the given archive is depth 1, so three levels are listed.
    const deep = corpus.nestedZip(4, 'x.com')
    const names = ['depth2.zip', 'depth2.zip > depth3.zip', 'depth2.zip > depth3.zip > depth4.zip']
    assert.deepEqual(found(withoutDirectory(deep), fresh(), { ...LIMITS, maxDepth: 3 }).names, names)
    assert.deepEqual(found(deep, fresh(), { ...LIMITS, maxDepth: 3 }).names, names)
    const stored = corpus.writeZip([{ name: 'a.zip', method: 0, data: corpus.writeZip([{ name: 'b.zip', method: 0, data: INNER }]) }])
    assert.deepEqual(found(withoutDirectory(stored), fresh(), { ...LIMITS, maxDepth: 1 }).names, ['a.zip', 'a.zip > b.zip', 'a.zip > b.zip > x.com'])
    assert.deepEqual(found(withoutDirectory(deep)).names, [
      'depth2.zip',
      'depth2.zip > depth3.zip',
      'depth2.zip > depth3.zip > depth4.zip',
      'depth2.zip > depth3.zip > depth4.zip > x.com',
    ])
  })

  test('a UTF-8-flagged name, a CP437 name and an Info-ZIP Unicode Path, each spelled as names.ts gives them', () => {
    assert.deepEqual(found(withoutDirectory(corpus.writeZip([{ name: 'résumé.com', data: corpus.PROGRAM }]))).names, ['résumé.com'])
    assert.deepEqual(found(withoutDirectory(corpus.cp437Zip(['Ärger.com']))).names, ['Ärger.com'])
    assert.deepEqual(found(withoutDirectory(corpus.unicodePathZip('report.pdf', 'report.com'))).names, ['report.pdf', 'report.com'])
  })

  test('directories are not names', () => {
    assert.deepEqual(found(withoutDirectory(corpus.zipOf({ 'dir/': '', 'dir/a.com': corpus.PROGRAM }))).names, ['dir/a.com'])
  })

  test('a bomb nested member is not inflated past maxNestedBytes: names so far, no throw', (t) => {
    const limits = { ...LIMITS, maxNestedBytes: MiB, maxRatio: 2000 }
    const bomb = corpus.writeZip([
      { name: 'readme.txt', data: 'hi' },
      { name: 'inner.zip', packed: corpus.zeros(64) },
      { name: 'after.com', data: corpus.PROGRAM },
    ])
    const inflate = mock.method(zlib, 'inflateRawSync')
    t.after(() => inflate.mock.restore())
    const budget = fresh(limits)
    const result = found(withoutDirectory(bomb), budget, limits)
    assert.deepEqual(result.names, ['readme.txt', 'inner.zip', 'after.com'])
    const caps = inflate.mock.calls.map((call) => (call.arguments[1] as zlib.ZlibOptions).maxOutputLength)
    assert.ok(caps.length >= 1 && caps.every((cap) => cap !== undefined && cap <= MiB), `caps ${caps.join()}`)
    // The overrun's work is charged: one cap at most per inflation.
    assert.ok(budget.bytes >= limits.maxTotalBytes - caps.length * MiB && budget.bytes < limits.maxTotalBytes)
  })

  test('the ratio cap: a member inflating past maxRatio times its size is not read', () => {
    const inner = corpus.zipOf({ 'x.com': corpus.PROGRAM, 'pad.txt': Buffer.alloc(200_000) })
    const outer = corpus.zipOf({ 'inner.zip': inner })
    assert.deepEqual(found(withoutDirectory(outer), fresh(), { ...LIMITS, maxRatio: 2 }).names, ['inner.zip'])
  })

  test('budget.bytes: nothing is inflated once spent', () => {
    const outer = withoutDirectory(corpus.zipOf({ 'inner.zip': INNER }))
    assert.deepEqual(found(outer, { entries: 1000, bytes: 0 }).names, ['inner.zip'])
    const budget = fresh()
    found(outer, budget)
    // inner.zip inflated; x.com inside it is not named as an archive and stays as it is
    assert.equal(budget.bytes, LIMITS.maxTotalBytes - INNER.length)
  })

  test('data without PK\\3\\4: empty result, one search and no further work', () => {
    const deadline = counter()
    const data = noise(7, 4 * MiB)
    data.write('PK\x05\x06PK\x01\x02PK\x03', 1000, 'latin1')
    const budget = fresh()
    assert.deepEqual(found(data, budget, LIMITS, deadline), { names: [], offsets: [] })
    assert.deepEqual({ ticks: deadline.ticks, checks: deadline.checks }, { ticks: 0, checks: [] })
    assert.deepEqual(budget, fresh())
  })

  test('random data with PK\\3\\4 sprinkled: no throw, names are whatever is read, bounded by budget', () => {
    const data = Buffer.concat(Array.from({ length: 300 }, (_, seed) => corpus.randomPk(seed + 1, 257 + seed)))
    const all = found(data)
    assert.ok(all.names.length > 0 && all.names.length <= LIMITS.maxEntries)
    for (const at of all.offsets) assert.equal(data.readUInt32LE(at), 0x04034b50)
    const budget = { entries: 5, bytes: 1000 }
    const few = found(data, budget)
    assert.equal(few.names.length, 5)
    assert.deepEqual(few.names, all.names.slice(0, 5))
    assert.equal(budget.entries, 0)
    assert.ok(budget.bytes >= 0)
  })

  test('a name length past the end: skipped', () => {
    const header = Buffer.alloc(30)
    LOCAL.copy(header)
    header.writeUInt16LE(500, 26)
    const lone = Buffer.concat([header, Buffer.from('x.com')])
    assert.deepEqual(found(lone), { names: [], offsets: [] })
    const zip = withoutDirectory(SAMPLE)
    assert.deepEqual(found(Buffer.concat([zip, lone])), { names: ['readme.txt', 'x.com'], offsets: signatures(zip) })
    // A zero-length name is no header either; the walk goes on after it.
    const empty = Buffer.from(header)
    empty.writeUInt16LE(0, 26)
    assert.deepEqual(found(Buffer.concat([empty, zip])).names, ['readme.txt', 'x.com'])
  })

  test('10,000 local headers: budget.entries respected', () => {
    const zip = corpus.writeZip(Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}.txt`, data: 'x', method: 0 as const })))
    const expected = Array.from({ length: 1000 }, (_, i) => `f${i}.txt`)
    for (const data of [zip, withoutDirectory(zip)]) {
      const budget = fresh()
      const result = found(data, budget)
      assert.deepEqual(result.names, expected)
      assert.equal(budget.entries, 0)
    }
    const budget = { entries: 0, bytes: LIMITS.maxTotalBytes }
    assert.deepEqual(found(zip, budget), { names: [], offsets: [] })
  })

  test('long names nested deep: the characters looked up are bounded, and reaching it spends the entries budget', () => {
    // 80 stored members, each holding the rest, each name 60,000 characters:
    // the path at level k is k names long, 194 million characters in all.
    const levels = 80
    let data = Buffer.alloc(0)
    for (let level = levels; level >= 1; level--) {
      const name = Buffer.from(String(level).padStart(60_000, 'a'))
      const header = Buffer.alloc(30)
      LOCAL.copy(header)
      header.writeUInt32LE(data.length, 18)
      header.writeUInt32LE(data.length, 22)
      header.writeUInt16LE(name.length, 26)
      data = Buffer.concat([header, name, data])
    }
    const budget = fresh()
    const result = found(data, budget)
    // Levels 1..5 hold 15 names of 60,000 characters and a " > " each, under MAX_NAME_CHARS; level 6 passes it.
    assert.equal(MAX_NAME_CHARS, 1 << 20)
    assert.equal(result.names.length, 5)
    assert.equal(result.names[4].length, 5 * 60_000 + 4 * ' > '.length)
    assert.equal(budget.entries, 0)
  })

  test('extra fields of false headers overlapping: the bytes parsed are bounded by the data, and reaching it spends the entries budget', () => {
    // Headers 31 bytes apart, each declaring 65,535 bytes of extra fields (all
    // empty fields, 16,000 to walk each): every header's extra holds the next ones.
    const header = Buffer.alloc(31)
    LOCAL.copy(header)
    header.writeUInt16LE(1, 26)
    header.writeUInt16LE(0xffff, 28)
    header.write('a', 30)
    const data = Buffer.concat(Array<Buffer>(10_000).fill(header))
    const budget = fresh()
    const result = found(data, budget)
    // The fifth extra field passes the data's 310,000 bytes.
    assert.deepEqual(result, { names: ['a'], offsets: [0, 31, 62, 93] })
    assert.equal(budget.entries, 0)
  })

  test('the deadline is ticked per header; ScanDeadlineError passes through', () => {
    const zip = corpus.writeZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: 'x', method: 0 as const })))
    const deadline = counter()
    found(withoutDirectory(zip), fresh(), LIMITS, deadline)
    assert.deepEqual({ ticks: deadline.ticks, checks: deadline.checks }, { ticks: 50, checks: [] })
    // A long name takes long to decode: the clock is read for it.
    const long = found(withoutDirectory(corpus.writeZip([{ name: `${'d'.repeat(2000)}.txt`, data: 'x', method: 0 }])), fresh(), LIMITS, deadline)
    assert.equal(long.names.length, 1)
    assert.deepEqual({ ticks: deadline.ticks, checks: deadline.checks }, { ticks: 50, checks: [0] })
    assert.throws(() => found(zip, fresh(), LIMITS, counter(10)), ScanDeadlineError)
  })

  test(`deflated members not named as archives are inflated ${MAX_SNIFFED_MEMBERS} at most`, (t) => {
    const count = MAX_SNIFFED_MEMBERS + 10
    const zip = corpus.writeZip(Array.from({ length: count }, (_, i) => ({ name: `f${i}.txt`, data: `text ${i} `.repeat(10) })))
    const inflate = mock.method(zlib, 'inflateRawSync')
    t.after(() => inflate.mock.restore())
    assert.equal(found(withoutDirectory(zip)).names.length, count)
    assert.equal(inflate.mock.callCount(), MAX_SNIFFED_MEMBERS)
  })

  test(`${MAX_INFLATIONS} inflations at most, archives by name included; one more spends the entries budget`, (t) => {
    // Headers of a.zip with 8 bytes of garbage as deflated data, each a failed inflation.
    const header = Buffer.alloc(43)
    LOCAL.copy(header)
    header.writeUInt16LE(8, 8)
    header.writeUInt32LE(8, 18)
    header.writeUInt32LE(8, 22)
    header.writeUInt16LE(5, 26)
    header.write('a.zip', 30)
    header.fill(0xff, 35)
    const inflate = mock.method(zlib, 'inflateRawSync')
    t.after(() => inflate.mock.restore())
    const budget = fresh()
    const result = found(Buffer.concat(Array<Buffer>(MAX_INFLATIONS + 100).fill(header)), budget)
    assert.equal(inflate.mock.callCount(), MAX_INFLATIONS)
    assert.deepEqual(result.names, ['a.zip'])
    assert.equal(result.offsets.length, MAX_INFLATIONS + 1)
    assert.equal(budget.entries, 0)
  })

  test('fuzz: 2000 seeded random mutations of a real zip, no throw, budget kept', () => {
    const real = corpus.writeZip([
      { name: 'readme.txt', data: 'hello '.repeat(50) },
      { name: 'stored.zip', data: INNER, method: 0 },
      { name: 'inner.zip', data: corpus.nestedZip(2, 'x.com') },
      { name: 'streamed.zip', data: INNER, descriptor: true },
      { name: 'résumé.com', data: corpus.PROGRAM },
    ])
    for (let seed = 1; seed <= 2000; seed++) {
      const data = Buffer.from(real)
      const random = corpus.randomBytes(seed, 64)
      for (let i = 0; i < 1 + (random[0] % 8); i++) data[random.readUInt16LE(2 + 2 * i) % data.length] = random[20 + i]
      const cut = seed % 5 === 0 ? corpus.truncated(data, random.readUInt16LE(40) % data.length) : data
      const budget = fresh()
      const result = found(cut, budget)
      assert.ok(result.names.length <= LIMITS.maxEntries, `seed ${seed}`)
      assert.ok(budget.entries >= 0 && budget.bytes >= 0, `seed ${seed}: ${JSON.stringify(budget)}`)
    }
  })
})
