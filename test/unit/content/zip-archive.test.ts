// Archive inspection (G1A): names from the central directory, nested archives
// within caps, and a defined verdict, fast and in bounded memory, for bombs,
// lying directories and broken input. Timings are printed as diagnostics.
import { describe, mock, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
// The module itself, not a namespace copy, so that mock.method reaches the code under test.
import zlib from 'node:zlib'
import { ArchiveBudget, ArchiveLimits, ArchiveVerdict, inspectArchive, isZip } from '../../../plugins/lib/content/zip/archive'
import * as corpus from '../../rig/zip-corpus'

const MiB = 1 << 20
const LIMITS: ArchiveLimits = { maxDepth: 5, maxEntries: 1000, maxNestedBytes: 10 * MiB, maxRatio: 100, maxTotalBytes: 32 * MiB }
const MEMORY_BOUND = 64 * MiB

/** Inspects, printing how long it took; returns the verdict and milliseconds. */
function timed(t: TestContext, label: string, data: Buffer, limits = LIMITS, budget?: ArchiveBudget): { verdict: ArchiveVerdict; ms: number } {
  const start = process.hrtime.bigint()
  const verdict = inspectArchive(data, limits, budget)
  const ms = msSince(start)
  t.diagnostic(`${label}: ${verdict.kind}${verdict.kind === 'unsafe' ? ` (${verdict.why})` : ''} in ${ms.toFixed(2)} ms`)
  return { verdict, ms }
}

function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6
}

function inspect(data: Buffer, limits = LIMITS, budget?: ArchiveBudget): ArchiveVerdict {
  return inspectArchive(data, limits, budget)
}

const paths = (verdict: ArchiveVerdict): string[] => verdict.entries.map((entry) => entry.path)
const names = (verdict: ArchiveVerdict): string[] => verdict.entries.map((entry) => entry.name)

function unsafe(verdict: ArchiveVerdict, why: RegExp): void {
  assert.equal(verdict.kind, 'unsafe', `expected unsafe, got ${JSON.stringify(verdict)}`)
  if (verdict.kind === 'unsafe') assert.match(verdict.why, why)
}

describe('isZip: by content, not by name', () => {
  test('local header, empty archive, JAR, split markers', () => {
    assert.equal(isZip(corpus.zipOf({ 'a.txt': 'a' })), true)
    assert.equal(isZip(corpus.jarZip()), true)
    assert.equal(isZip(corpus.zipOf({})), true) // only an end record: PK\x05\x06
    const zip = corpus.zipOf({ 'a.txt': 'a' })
    assert.equal(isZip(Buffer.concat([Buffer.from('PK\x07\x08', 'latin1'), zip])), true)
    assert.equal(isZip(Buffer.concat([Buffer.from('PK00', 'latin1'), zip])), true)
  })

  test('anything else is not a ZIP', () => {
    for (const text of ['', 'PK', 'PK\x03', '%PDF-1.7\n', 'PK\x01\x02xxxx', 'PK00xxxx', '\x1f\x8b\x08\x00gzip']) {
      assert.equal(isZip(Buffer.from(text, 'latin1')), false, JSON.stringify(text))
    }
    assert.equal(isZip(corpus.randomBytes(7, 4096)), false)
  })
})

describe('listing names from the central directory', () => {
  test('paths, own names, depth; directories are not files', () => {
    const verdict = inspect(corpus.zipOf({ 'readme.txt': 'hi', 'dir/': '', 'dir/sub/tool.exe': corpus.PROGRAM }))
    assert.deepEqual(verdict, {
      kind: 'listed',
      entries: [
        { path: 'readme.txt', name: 'readme.txt', encrypted: false, depth: 1 },
        { path: 'dir/sub/tool.exe', name: 'tool.exe', encrypted: false, depth: 1 },
      ],
    })
  })

  test('an empty archive lists nothing', () => {
    assert.deepEqual(inspect(corpus.zipOf({})), { kind: 'listed', entries: [] })
  })

  test('no member is inflated to list names, even one with corrupt data', () => {
    const garbage: corpus.Packed = { method: 8, bytes: corpus.randomBytes(3, 500), size: 1 << 30, crc: 0 }
    const zip = corpus.writeZip([{ name: 'setup.exe', packed: garbage }, { name: 'notes.txt', data: 'x'.repeat(5000) }])
    const inflate = mock.method(zlib, 'inflateRawSync')
    try {
      assert.deepEqual(names(inspect(zip)), ['setup.exe', 'notes.txt'])
      assert.deepEqual(names(inspect(corpus.bombZip())), ['readme.txt', 'zeros.bin'])
      assert.equal(inflate.mock.callCount(), 0)
      inspect(corpus.nestedZip(2)) // the nested archive, and only it
      assert.equal(inflate.mock.callCount(), 1)
    } finally {
      inflate.mock.restore()
    }
  })

  test('UTF-8 names when flag bit 11 is set', () => {
    const verdict = inspect(corpus.zipOf({ 'résumé.exe': 'x', 'папка/файл.scr': 'x', '文件.pif': 'x' }))
    assert.deepEqual(names(verdict), ['résumé.exe', 'файл.scr', '文件.pif'])
  })

  test('CP437 names when it is clear (APPNOTE appendix D), even if the bytes are valid UTF-8', () => {
    assert.deepEqual(names(inspect(corpus.cp437Zip(['ÄPFEL.exe', 'naïve.txt', 'Übung ½.doc']))), ['ÄPFEL.exe', 'naïve.txt', 'Übung ½.doc'])
    assert.deepEqual(names(inspect(corpus.rawNameZip([Buffer.from('é.exe', 'utf8'), Buffer.from([0x80, 0xff, 0x2e, 0x63, 0x6f, 0x6d])]))), [
      '├⌐.exe',
      'Ç\u00a0.com',
    ])
  })

  test('every spelling an extractor may use: Unicode Path field, a cut at NUL, backslashes', () => {
    assert.deepEqual(names(inspect(corpus.unicodePathZip('harmless.txt', 'évil.exe'))), ['harmless.txt', 'évil.exe'])
    assert.deepEqual(names(inspect(corpus.rawNameZip([Buffer.from('x.exe\0.txt')]))), ['x.exe\0.txt', 'x.exe'])
    assert.deepEqual(inspect(corpus.rawNameZip([Buffer.from('dir\\x.exe')])).entries, [
      { path: 'dir\\x.exe', name: 'x.exe', encrypted: false, depth: 1 },
    ])
  })

  test('a JAR is a ZIP; a nested .jar is opened like a .zip', () => {
    assert.deepEqual(paths(inspect(corpus.jarZip(['com/example/Main.class', 'lib/run.bat']))), [
      'META-INF/MANIFEST.MF',
      'com/example/Main.class',
      'lib/run.bat',
    ])
    const outer = corpus.zipOf({ 'app.jar': corpus.jarZip(['payload.exe']) })
    assert.ok(paths(inspect(outer)).includes('app.jar > payload.exe'))
  })

  test('data descriptors (flag bit 3, as streaming writers and JarOutputStream write): sizes from the directory', () => {
    const inner = corpus.writeZip([{ name: 'payload.exe', data: corpus.PROGRAM, descriptor: true }])
    const zip = corpus.writeZip([
      { name: 'a.txt', data: 'hello', descriptor: true },
      { name: 'inner.zip', data: inner, descriptor: true },
    ])
    assert.deepEqual(inspect(zip), {
      kind: 'listed',
      entries: [
        { path: 'a.txt', name: 'a.txt', encrypted: false, depth: 1 },
        { path: 'inner.zip', name: 'inner.zip', encrypted: false, depth: 1 },
        { path: 'inner.zip > payload.exe', name: 'payload.exe', encrypted: false, depth: 2 },
      ],
    })
  })

  test('a path of 16000 levels lists in milliseconds (adm-zip would build every prefix)', (t) => {
    const zip = corpus.zipOf({ ['a/'.repeat(16000) + 'x.exe']: 'x' })
    const { verdict, ms } = timed(t, '16000 levels', zip)
    assert.deepEqual(names(verdict), ['x.exe'])
    assert.ok(ms < 1000)
  })

  test('encrypted members are judged by name; an encrypted nested archive cannot be opened and stays listed', () => {
    const verdict = inspect(corpus.encryptedZip(['invoice.exe', 'more.zip']))
    assert.deepEqual(verdict, {
      kind: 'listed',
      entries: [
        { path: 'invoice.exe', name: 'invoice.exe', encrypted: true, depth: 1 },
        { path: 'more.zip', name: 'more.zip', encrypted: true, depth: 1 },
      ],
    })
  })
})

describe('nested archives', () => {
  test('opened to max_depth, with the path through each', () => {
    const verdict = inspect(corpus.nestedZip(3))
    assert.deepEqual(verdict, {
      kind: 'listed',
      entries: [
        { path: 'depth2.zip', name: 'depth2.zip', encrypted: false, depth: 1 },
        { path: 'depth2.zip > depth3.zip', name: 'depth3.zip', encrypted: false, depth: 2 },
        { path: 'depth2.zip > depth3.zip > payload.exe', name: 'payload.exe', encrypted: false, depth: 3 },
      ],
    })
    assert.equal(inspect(corpus.nestedZip(5)).kind, 'listed')
  })

  test('one level deeper than max_depth is unsafe, with what was read', () => {
    const verdict = inspect(corpus.nestedZip(6))
    unsafe(verdict, /^depth2\.zip > depth3\.zip > depth4\.zip > depth5\.zip > depth6\.zip: nested archive deeper than 5 levels$/)
    assert.equal(verdict.entries.length, 5)
    unsafe(inspect(corpus.nestedZip(2), { ...LIMITS, maxDepth: 1 }), /^depth2\.zip: nested archive deeper than 1 levels$/)
  })

  test('found by content when stored, whatever its name; a deflated one under another name is not inflated', () => {
    const inner = corpus.nestedZip(1)
    const stored = corpus.writeZip([{ name: 'data.bin', data: inner, method: 0 }])
    assert.deepEqual(paths(inspect(stored)), ['data.bin', 'data.bin > payload.exe'])
    const deflated = corpus.writeZip([{ name: 'data.bin', data: inner, method: 8 }])
    assert.deepEqual(paths(inspect(deflated)), ['data.bin'])
  })

  test('a .zip member that is not a ZIP by content is an ordinary file', () => {
    const verdict = inspect(corpus.zipOf({ 'notes.zip': 'just text', 'empty.zip': '' }))
    assert.deepEqual(verdict, {
      kind: 'listed',
      entries: [
        { path: 'notes.zip', name: 'notes.zip', encrypted: false, depth: 1 },
        { path: 'empty.zip', name: 'empty.zip', encrypted: false, depth: 1 },
      ],
    })
  })

  test('over the ratio cap', () => {
    // 2 MiB of zeros inside: small enough, but deflates about 1000 to 1.
    const inner = corpus.zipOf({ 'zeros.bin': Buffer.alloc(2 * MiB) }, { store: true })
    const verdict = inspect(corpus.zipOf({ 'inner.zip': inner }))
    unsafe(verdict, /^inner\.zip: nested archive declares \d+ bytes from \d+ \(ratio \d+, over 100\)$/)
    assert.deepEqual(paths(verdict), ['inner.zip'])
  })

  test('over the size cap', () => {
    const inner = corpus.zipOf({ 'noise.bin': corpus.randomBytes(5, 2 * MiB) }, { store: true })
    unsafe(inspect(corpus.zipOf({ 'inner.zip': inner }, { store: true }), { ...LIMITS, maxNestedBytes: MiB }), /^inner\.zip: nested archive declares \d+ bytes, over 1048576$/)
  })

  test('over the bytes inflated per message, counted across archives through the shared budget', () => {
    const inner = corpus.zipOf({ 'noise.bin': corpus.randomBytes(6, 600 * 1024) }, { store: true })
    const limits = { ...LIMITS, maxTotalBytes: MiB }
    unsafe(inspect(corpus.zipOf({ 'a.zip': inner, 'b.zip': inner }), limits), /^b\.zip: nested archive of \d+ bytes would pass 1048576 inflated per message$/)
    const budget = { entries: limits.maxEntries, bytes: limits.maxTotalBytes }
    const one = corpus.zipOf({ 'a.zip': inner })
    assert.equal(inspect(one, limits, budget).kind, 'listed')
    assert.ok(budget.bytes < limits.maxTotalBytes - 600 * 1024)
    unsafe(inspect(one, limits, budget), /would pass 1048576 inflated per message/)
  })

  test('a compression method not read here, a broken nested archive', () => {
    const bzip2: corpus.Packed = { method: 12, bytes: Buffer.from('BZh91AY&SY'), size: 100, crc: 0 }
    unsafe(inspect(corpus.writeZip([{ name: 'inner.zip', packed: bzip2 }])), /^inner\.zip: compression method 12, which is not read here$/)
    const broken = corpus.truncated(corpus.nestedZip(2), 60)
    unsafe(inspect(corpus.zipOf({ 'inner.zip': broken })), /^inner\.zip: no end of central directory record/)
  })
})

describe('entry counts', () => {
  const many = (n: number): Buffer => corpus.writeZip(Array.from({ length: n }, (_, i) => ({ name: `f${i}.txt`, data: '' })))

  test('at most max_entries per message, all archives together', () => {
    const limits = { ...LIMITS, maxEntries: 20 }
    assert.equal(inspect(many(20), limits).kind, 'listed')
    unsafe(inspect(many(21), limits), /^21 entries, over the 20 inspected per message$/)
    const budget = { entries: 20, bytes: LIMITS.maxTotalBytes }
    assert.equal(inspect(many(15), limits, budget).kind, 'listed')
    assert.equal(budget.entries, 5)
    unsafe(inspect(many(15), limits, budget), /^15 entries, over the 20/)
    // Nested archives count too.
    unsafe(inspect(corpus.zipOf({ 'inner.zip': many(20) }), limits), /^inner\.zip: 20 entries, over the 20/)
  })

  test('70000 entries (a ZIP64 count) are refused from the end record, before any is read', (t) => {
    const zip = corpus.writeZip(Array.from({ length: 70_000 }, (_, i) => ({ name: `f${i}.txt`, data: '' })), { zip64: true })
    const { verdict, ms } = timed(t, '70000 entries', zip)
    unsafe(verdict, /^70000 entries, over the 1000 inspected per message$/)
    assert.ok(ms < 1000)
  })
})

describe('ZIP64', () => {
  test('ZIP64 end records and entry fields: names, a nested archive, a 5 GiB member', () => {
    assert.deepEqual(paths(inspect(corpus.zip64Zip())), ['readme.txt', 'inner.zip', 'inner.zip > payload.exe', 'zeros.bin'])
    assert.deepEqual(paths(inspect(corpus.zip64Zip({ sizeOnly: true }))), ['readme.txt', 'zeros.bin'])
  })

  test('ZIP64 fields in APPNOTE 4.5.3 order, only those set to 0xFFFFFFFF (adm-zip reads them by position)', () => {
    const inner = corpus.nestedZip(1)
    const zip = corpus.writeZip([
      { name: 'readme.txt', data: 'hello\n', zip64: 'offset' },
      { name: 'inner.zip', data: inner, method: 0, zip64: 'offset' },
    ])
    assert.deepEqual(paths(inspect(zip)), ['readme.txt', 'inner.zip', 'inner.zip > payload.exe'])
  })

  test('sizes past 32 bits are read, so a 5 GiB nested archive is over the caps', () => {
    const zip = corpus.writeZip([{ name: 'zeros.zip', packed: corpus.zeros(5 * 1024) }], { zip64: true })
    unsafe(inspect(zip), /^zeros\.zip: nested archive declares 5368709120 bytes from \d+ \(ratio/)
  })
})

describe('bombs: fast, bounded, defined', () => {
  test('the corpus zeros are honest deflate streams with the right CRC-32', async () => {
    assert.equal(corpus.crc32OfZeros(12345), zlib.crc32(Buffer.alloc(12345)))
    assert.equal(corpus.crc32OfZeros(1 << 30), 0x5b64c2b0) // zlib.crc32 over 1 GiB of zeros
    const packed = corpus.zeros(64)
    let length = 0
    let crc = 0
    let nonZero = false
    const zero = Buffer.alloc(MiB)
    const inflate = zlib.createInflateRaw({ chunkSize: MiB })
    inflate.on('data', (chunk: Buffer) => {
      length += chunk.length
      crc = zlib.crc32(chunk, crc)
      nonZero ||= !chunk.equals(zero.subarray(0, chunk.length))
    })
    await new Promise((resolve, reject) => inflate.on('end', resolve).on('error', reject).end(packed.bytes))
    assert.deepEqual({ length, crc, nonZero }, { length: packed.size, crc: packed.crc, nonZero: false })
  })

  test('a 1 GiB member of zeros is listed without inflating it', (t) => {
    const { verdict, ms } = timed(t, '1 GiB member', corpus.bombZip())
    assert.deepEqual(paths(verdict), ['readme.txt', 'zeros.bin'])
    assert.equal(verdict.kind, 'listed')
    assert.ok(ms < 1000)
  })

  test('the same member as a nested .zip is unsafe by ratio', (t) => {
    const { verdict, ms } = timed(t, '1 GiB nested .zip', corpus.bombZip('zeros.zip'))
    unsafe(verdict, /^zeros\.zip: nested archive declares 1073741824 bytes from \d+ \(ratio 1012, over 100\)$/)
    assert.ok(ms < 1000)
  })

  test('a 42.zip-style nest is unsafe under each cap in turn', (t) => {
    const nest = corpus.fortyTwoZip()
    const cases: Array<[string, ArchiveLimits, RegExp]> = [
      ['default caps', LIMITS, /^4-0\.zip > 3-0\.zip > 2-0\.zip: nested archive declares \d+ bytes from \d+ \(ratio \d+, over 100\)$/],
      ['no ratio or size cap', { ...LIMITS, maxRatio: Infinity, maxNestedBytes: Infinity }, /: nested archive of \d+ bytes would pass 33554432 inflated per message$/],
      ['an entry cap only', { ...LIMITS, maxEntries: 25, maxRatio: Infinity, maxNestedBytes: Infinity, maxTotalBytes: Infinity }, /: 10 entries, over the 25 inspected per message$/],
    ]
    for (const [label, limits, why] of cases) {
      const { verdict, ms } = timed(t, `42.zip, ${label}`, nest, limits)
      unsafe(verdict, why)
      assert.ok(ms < 1000, `${label}: ${ms} ms`)
    }
  })

  test('memory: in a fresh process, peak RSS grows less than 64 MB through the bombs', (t) => {
    // Built here and handed over as files, so that the process measured has
    // done nothing else: its peak RSS before the first inspection is small.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-corpus-'))
    try {
      const nest = corpus.fortyTwoZip()
      const cases: Array<[string, Buffer, ArchiveLimits]> = [
        ['1 GiB member', corpus.bombZip(), LIMITS],
        ['1 GiB nested .zip', corpus.bombZip('zeros.zip'), LIMITS],
        ['42.zip', nest, LIMITS],
        ['42.zip, no ratio or size cap', nest, { ...LIMITS, maxRatio: 1e15, maxNestedBytes: 1e15 }],
      ]
      const jobs = cases.map(([label, data, limits], i) => {
        const file = path.join(dir, `${i}.zip`)
        fs.writeFileSync(file, data)
        return { label, file, limits }
      })
      const archiveModule = path.join(__dirname, '../../../plugins/lib/content/zip/archive.js')
      const output = execFileSync(process.execPath, ['--expose-gc', '-e', FRESH_PROCESS, archiveModule, JSON.stringify(jobs)], { encoding: 'utf8' })
      const results = JSON.parse(output) as Array<{ label: string; kind: string; ms: number; growth: number }>
      for (const { label, kind, ms, growth } of results) {
        t.diagnostic(`${label}: ${kind} in ${ms.toFixed(2)} ms, peak RSS +${(growth / MiB).toFixed(1)} MB`)
        assert.ok(growth < MEMORY_BOUND, `${label}: peak RSS grew ${growth} bytes`)
      }
      assert.deepEqual(results.map((result) => result.kind), ['listed', 'unsafe', 'unsafe', 'unsafe'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

// Reads the archives, then inspects them one after the other, measuring the
// peak RSS against its level before the first. The peak is Linux's VmHWM,
// which starts afresh at exec; getrusage's maxrss would keep the peak of the
// test process that forked this one.
const FRESH_PROCESS = `
const fs = require('node:fs')
const { inspectArchive } = require(process.argv[1])
const peak = () => Number(/VmHWM:\\s*(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024
const jobs = JSON.parse(process.argv[2]).map((job) => ({ ...job, data: fs.readFileSync(job.file) }))
globalThis.gc()
const base = peak()
const results = jobs.map(({ label, data, limits }) => {
  const start = performance.now()
  const verdict = inspectArchive(data, limits)
  const ms = performance.now() - start
  return { label, kind: verdict.kind, ms, growth: peak() - base }
})
process.stdout.write(JSON.stringify(results))
`

describe('broken input: a defined verdict, never a throw', () => {
  test('each lie in the directory', (t) => {
    const expected: Record<corpus.Lie, RegExp> = {
      'size-under': /^inner\.zip: inflates past its declared \d+ bytes$/,
      'size-over': /^inner\.zip: inflates to \d+ bytes but declares \d+$/,
      'stored-size': /^inner\.zip: stored \d+ bytes but declares \d+$/,
      crc: /^inner\.zip: CRC-32 mismatch$/,
      'count-under': /^the end record does not match the central directory$/,
      'count-over': /^end record points past the archive, or counts more entries than fit$/,
      'directory-outside': /^end record points past the archive/,
      'local-outside': /^x\.txt: local header outside the archive$/,
      'local-name': /^readme\.txt: local header names another file than the directory$/,
      'data-outside': /^x\.txt: member data runs past the end of the archive$/,
    }
    for (const lie of corpus.LIES) unsafe(timed(t, lie, corpus.lyingZip(lie)).verdict, expected[lie])
  })

  test('two entries with the same name', () => {
    unsafe(inspect(corpus.duplicateZip()), /^two entries with the same name$/)
  })

  test('ZIP64 and JAR archives truncated at sampled lengths', () => {
    for (const zip of [corpus.zip64Zip(), corpus.jarZip()]) {
      for (let i = 0; i < 200; i++) {
        const length = Math.min(Math.floor((zip.length * i) / 200) + (i % 7), zip.length - 1)
        assert.equal(inspect(corpus.truncated(zip, length)).kind, 'unsafe', `cut at ${length} of ${zip.length}`)
      }
    }
  })

  test('truncated at every length', (t) => {
    const zip = corpus.zipOf({ 'a.txt': 'hello', 'inner.zip': corpus.nestedZip(2), 'b.exe': corpus.PROGRAM })
    const start = process.hrtime.bigint()
    for (let length = 0; length < zip.length; length++) {
      assert.equal(inspect(corpus.truncated(zip, length)).kind, 'unsafe', `cut at ${length}`)
    }
    t.diagnostic(`${zip.length} truncations in ${msSince(start).toFixed(1)} ms`)
    assert.equal(inspect(zip).kind, 'listed')
  })

  test('random bytes after PK\\x03\\x04, and random mutations of a good archive', (t) => {
    let slowest = 0
    for (let seed = 1; seed <= 300; seed++) {
      const start = process.hrtime.bigint()
      unsafe(inspect(corpus.randomPk(seed)), /./)
      slowest = Math.max(slowest, msSince(start))
    }
    const good = corpus.zipOf({ 'a.txt': 'hello', 'inner.zip': corpus.nestedZip(3), 'dir/b.exe': corpus.PROGRAM })
    const kinds = { listed: 0, unsafe: 0 }
    for (let seed = 1; seed <= 500; seed++) {
      const mutated = Buffer.from(good)
      const noise = corpus.randomBytes(seed, 8)
      for (let i = 0; i < 4; i++) mutated[(noise.readUInt16LE(i * 2) * 7 + seed) % mutated.length] = noise[i] ^ 0xff
      const start = process.hrtime.bigint()
      kinds[inspect(mutated).kind]++
      slowest = Math.max(slowest, msSince(start))
    }
    t.diagnostic(`mutations: ${kinds.listed} listed, ${kinds.unsafe} unsafe; slowest ${slowest.toFixed(2)} ms`)
    assert.ok(slowest < 500) // generous: a busy machine, a collection pause
  })

  test('not a ZIP at all', () => {
    unsafe(inspect(Buffer.from('%PDF-1.7\n')), /^no end of central directory record/)
    unsafe(inspect(Buffer.alloc(0)), /^no end of central directory record/)
  })
})
