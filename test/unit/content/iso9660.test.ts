// ISO 9660 images read for every directory tree (issue 17 item 1): the
// primary tree, Joliet trees and Rock Ridge names, from images made by
// genisoimage and xorriso with each combination of extensions, exact lists
// per tree; hand-made hostile images (directory loops, broken records,
// 4 GB sizes, continuation loops, hidden trees) and damaged real ones
// (every prefix, seeded byte flips): no throw, no hang, bounded entries.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { isIso9660, listIso9660, type IsoEntry, type IsoListing } from '../../../plugins/lib/content/archive/iso9660'
import { ScanDeadlineError } from '../../../plugins/lib/mime/deadline'
import { mulberry32 } from '../../rig/prng'

const SECTOR = 2048
const MAX = 1000

// ---------------------------------------------------------------- real tools

/** Whether a command runs; the test is skipped with the Debian package to install when not. */
function haveTool(t: TestContext, cmd: string): boolean {
  const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' })
  if (r.error) {
    t.skip(`${cmd} not found: install the Debian package ${cmd} (apt-get install -y ${cmd})`)
    return false
  }
  return true
}

type Files = Record<string, string | Buffer>

/** Runs the tool on a fresh directory holding `files` and returns the image; nothing stays behind. */
function image(files: Files, build: (dir: string, out: string) => void): Buffer {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iso9660-'))
  try {
    const dir = path.join(tmp, 'd')
    fs.mkdirSync(dir)
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      fs.writeFileSync(path.join(dir, name), content)
    }
    const out = path.join(tmp, 'x.iso')
    build(dir, out)
    return fs.readFileSync(out)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

const genisoimage = (files: Files, ...flags: string[]): Buffer =>
  image(files, (dir, out) => execFileSync('genisoimage', ['-quiet', ...flags, '-o', out, dir], { stdio: 'ignore' }))

const xorriso = (files: Files, ...flags: string[]): Buffer =>
  image(files, (dir, out) => execFileSync('xorriso', ['-outdev', out, ...flags, '-map', dir, '/'], { stdio: 'ignore' }))

/** Each tree's paths, sorted, directories with a trailing "/". */
function trees(listing: IsoListing): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const e of listing.entries) (out[e.tree] ??= []).push(e.dir ? `${e.path}/` : e.path)
  for (const list of Object.values(out)) list.sort()
  return out
}

function listed(data: Buffer, max = MAX): IsoListing {
  const listing = listIso9660(data, max)
  assert.ok(listing.entries.length <= max, `at most ${max} entries`)
  return listing
}

const FILES: Files = {
  'invoice.exe': 'MZ program',
  'setup/run-this-long-name.exe': 'MZ another',
  'setup/docs/readme.pdf': '%PDF-1.4 text',
}
const PRIMARY = ['INVOICE.EXE', 'SETUP/', 'SETUP/DOCS/', 'SETUP/DOCS/README.PDF', 'SETUP/RUN_THIS.EXE']
const LONG = ['invoice.exe', 'setup/', 'setup/docs/', 'setup/docs/readme.pdf', 'setup/run-this-long-name.exe']

/** Every file entry's bytes in the image are the file's. */
function assertData(data: Buffer, listing: IsoListing, files: Files): void {
  const contents = new Set(Object.values(files).map((c) => Buffer.from(c).toString('latin1')))
  for (const e of listing.entries.filter((x) => !x.dir)) {
    assert.ok(contents.has(data.subarray(e.offset, e.offset + e.size).toString('latin1')), `${e.tree} ${e.path} points at its bytes`)
  }
}

describe('images made by genisoimage: every tree, exact names', () => {
  test('-J -R: primary 8.3 names, Joliet and Rock Ridge long names, data where each entry says', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const data = genisoimage(FILES, '-J', '-R')
    assert.equal(isIso9660(data), true)
    const listing = listed(data)
    assert.deepEqual(trees(listing), { primary: PRIMARY, joliet: LONG, rockridge: LONG })
    assert.equal(listing.unsafe, undefined)
    assertData(data, listing, FILES)
  })

  test('-R only: primary and Rock Ridge', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const listing = listed(genisoimage(FILES, '-R'))
    assert.deepEqual(trees(listing), { primary: PRIMARY, rockridge: LONG })
    assert.equal(listing.unsafe, undefined)
  })

  test('-J only: primary and Joliet', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const listing = listed(genisoimage(FILES, '-J'))
    assert.deepEqual(trees(listing), { primary: PRIMARY, joliet: LONG })
    assert.equal(listing.unsafe, undefined)
  })

  test('no extension: the primary tree alone', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const data = genisoimage(FILES)
    const listing = listed(data)
    assert.deepEqual(trees(listing), { primary: PRIMARY })
    assert.equal(listing.unsafe, undefined)
    assertData(data, listing, FILES)
  })

  test('directories deeper than 8 (Rock Ridge relocation): the Rock Ridge path through the child link, the primary one through rr_moved', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const files = { 'a/b/c/d/e/f/g/h/i/j/payload.exe': 'MZ deep' }
    const listing = listed(genisoimage(files, '-R'))
    const files_ = (tree: string): string[] => listing.entries.filter((e) => e.tree === tree && !e.dir).map((e) => e.path)
    assert.deepEqual(files_('rockridge'), ['a/b/c/d/e/f/g/h/i/j/payload.exe'])
    // the primary tree holds the link's placeholder file and the moved directory
    assert.deepEqual(files_('primary').sort(), ['A/B/C/D/E/F/G/H', 'RR_MOVED/H/I/J/PAYLOAD.EXE'])
    assert.equal(listing.unsafe, undefined)
  })

  test('a Rock Ridge name of 250 bytes, longer than a record holds (continuation area)', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const long = `${'n'.repeat(246)}.exe`
    const listing = listed(genisoimage({ [long]: 'MZ' }, '-R'))
    assert.deepEqual(trees(listing), { primary: ['NNNNNNNN.EXE'], rockridge: [long] })
  })

  test('a zip inside the image: its bytes, without a copy, where the entry points', (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const zip = Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)])
    const data = genisoimage({ 'inner.zip': zip }, '-J', '-R')
    for (const e of listed(data).entries) {
      assert.equal(e.path.toLowerCase(), 'inner.zip')
      assert.deepEqual(data.subarray(e.offset, e.offset + e.size), zip)
    }
  })
})

describe('images made by xorriso', () => {
  test('Rock Ridge (its default) and Joliet', (t) => {
    if (!haveTool(t, 'xorriso')) return
    const data = xorriso(FILES, '-joliet', 'on')
    const listing = listed(data)
    const primary = ['INVOICE.EXE', 'SETUP/', 'SETUP/DOCS/', 'SETUP/DOCS/README.PDF', 'SETUP/RUN_THIS_LONG_NAME.EXE']
    assert.deepEqual(trees(listing), { primary, joliet: LONG, rockridge: LONG })
    assert.equal(listing.unsafe, undefined)
    assertData(data, listing, FILES)
  })

  test('Rock Ridge off: the primary tree alone', (t) => {
    if (!haveTool(t, 'xorriso')) return
    const listing = listed(xorriso(FILES, '-rockridge', 'off'))
    assert.deepEqual(Object.keys(trees(listing)), ['primary'])
  })
})

// ------------------------------------------------------------ hand-made images

/** A directory record (ECMA-119 9.1). */
function record(id: Buffer | string, extent: number, size: number, dir: boolean, su: Buffer = Buffer.alloc(0), flags = 0): Buffer {
  const name = typeof id === 'string' ? Buffer.from(id, 'latin1') : id
  const pad = name.length % 2 === 0 ? 1 : 0
  const r = Buffer.alloc(33 + name.length + pad + su.length)
  assert.ok(r.length <= 255, 'a record fits its length byte')
  r[0] = r.length
  r.writeUInt32LE(extent, 2)
  r.writeUInt32BE(extent, 6)
  r.writeUInt32LE(size, 10)
  r.writeUInt32BE(size, 14)
  r[25] = (dir ? 2 : 0) | flags
  r.writeUInt16LE(1, 28)
  r.writeUInt16BE(1, 30)
  r[32] = name.length
  name.copy(r, 33)
  su.copy(r, 33 + name.length + pad)
  return r
}

const dot = (extent: number, size = SECTOR, su?: Buffer): Buffer => record(Buffer.from([0]), extent, size, true, su)
const dotdot = (extent: number, size = SECTOR): Buffer => record(Buffer.from([1]), extent, size, true)
const ucs2 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16()

/** SUSP entries (IEEE P1281) and Rock Ridge NM (P1282 4.1.4). */
const sp = (skip = 0): Buffer => Buffer.from([0x53, 0x50, 7, 1, 0xbe, 0xef, skip])
function nm(name: string | Buffer, flags = 0): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name) : name
  return Buffer.concat([Buffer.from([0x4e, 0x4d, 5 + n.length, 1, flags]), n])
}
function ce(block: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(28)
  b.write('CE', 0, 'latin1')
  b[2] = 28
  b[3] = 1
  for (const [at, v] of [[4, block], [12, offset], [20, length]]) {
    b.writeUInt32LE(v, at)
    b.writeUInt32BE(v, at + 4)
  }
  return b
}

/** An image of `sectors` sectors: descriptors from 16, directories where the test puts them. */
class Img {
  readonly buf: Buffer
  constructor(sectors: number) {
    this.buf = Buffer.alloc(sectors * SECTOR)
  }

  descriptor(sector: number, type: number, root: Buffer, joliet = false): this {
    const at = sector * SECTOR
    this.buf[at] = type
    this.buf.write('CD001', at + 1, 'latin1')
    this.buf[at + 6] = 1
    this.buf.writeUInt32LE(this.buf.length / SECTOR, at + 80)
    this.buf.writeUInt16LE(SECTOR, at + 128)
    this.buf.writeUInt16BE(SECTOR, at + 130)
    if (joliet) this.buf.write('%/E', at + 88, 'latin1')
    root.copy(this.buf, at + 156)
    return this
  }

  /** A primary descriptor at 16 whose root is at `extent`, the terminator after it. */
  primary(extent: number, size = SECTOR): this {
    return this.descriptor(16, 1, dot(extent, size)).descriptor(17, 255, Buffer.alloc(34))
  }

  /** Records one after another from byte `offset` of `sector`. */
  dir(sector: number, records: Buffer[], offset = 0): this {
    let at = sector * SECTOR + offset
    for (const r of records) {
      r.copy(this.buf, at)
      at += r.length
    }
    return this
  }
}

const paths = (listing: IsoListing, tree: IsoEntry['tree'] = 'primary'): string[] =>
  listing.entries.filter((e) => e.tree === tree).map((e) => (e.dir ? `${e.path}/` : e.path))

describe('isIso9660: by the descriptor, not by name', () => {
  test('CD001 at 0x8001 and nothing else', () => {
    const img = new Img(20).primary(18)
    assert.equal(isIso9660(img.buf), true)
    assert.equal(isIso9660(img.buf.subarray(0, 0x8005)), false)
    assert.equal(isIso9660(Buffer.alloc(40000)), false)
    assert.deepEqual(listIso9660(Buffer.alloc(40000), MAX), { entries: [], unsafe: 'no ISO 9660 volume descriptor' })
  })

  test('a descriptor without a root record: unsafe, nothing listed', () => {
    const img = new Img(20).descriptor(16, 1, Buffer.alloc(34)).descriptor(17, 255, Buffer.alloc(34))
    assert.deepEqual(listIso9660(img.buf, MAX), { entries: [], unsafe: 'no valid root directory' })
  })
})

describe('block sizes', () => {
  test('a declared block size of 1024 is read as declared (Linux) and as 2048 (readers that assume it)', () => {
    const img = new Img(48).primary(40)
    img.buf.writeUInt16LE(1024, 16 * SECTOR + 128)
    img.buf.writeUInt16BE(1024, 16 * SECTOR + 130)
    // the root at block 40: byte 40 KB in blocks of 1024, 80 KB in blocks of 2048
    img.dir(20, [dot(40), dotdot(40), record('AT1024.EXE', 0, 0, false)])
    img.dir(40, [dot(40), dotdot(40), record('AT2048.EXE', 0, 0, false)])
    assert.deepEqual(paths(listed(img.buf)), ['AT1024.EXE', 'AT2048.EXE'])
  })

  test('a block size that is not one ECMA-119 allows is read as 2048', () => {
    const img = new Img(24).primary(20)
    img.buf.writeUInt16LE(3, 16 * SECTOR + 128)
    img.dir(20, [dot(20), dotdot(20), record('A.EXE', 0, 0, false)])
    assert.deepEqual(paths(listed(img.buf)), ['A.EXE'])
  })
})

describe('directory pointers that loop: each directory read once', () => {
  test('a directory whose extent is its own', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('LOOP', 21, SECTOR, true)])
    img.dir(21, [dot(21), dotdot(20), record('SELF', 21, SECTOR, true), record('A.EXE;1', 22, 3, false)])
    img.buf.write('MZ!', 22 * SECTOR, 'latin1')
    const listing = listed(img.buf)
    assert.deepEqual(paths(listing), ['LOOP/', 'LOOP/SELF/', 'LOOP/A.EXE'])
    assert.equal(listing.unsafe, undefined)
    const a = listing.entries[2]
    assert.deepEqual({ size: a.size, offset: a.offset }, { size: 3, offset: 22 * SECTOR })
  })

  test('a directory pointing at its parent, and the root pointing at itself', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('ROOT', 20, SECTOR, true), record('SUB', 21, SECTOR, true)])
    img.dir(21, [dot(21), dotdot(20), record('UP', 20, SECTOR, true), record('B.EXE', 22, 1, false)])
    assert.deepEqual(paths(listed(img.buf)), ['ROOT/', 'SUB/', 'SUB/UP/', 'SUB/B.EXE'])
  })

  test('two directories pointing at each other', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('X', 21, SECTOR, true)])
    img.dir(21, [dot(21), dotdot(20), record('Y', 22, SECTOR, true), record('IN_X.EXE', 23, 1, false)])
    img.dir(22, [dot(22), dotdot(21), record('X', 21, SECTOR, true), record('IN_Y.EXE', 23, 1, false)])
    assert.deepEqual(paths(listed(img.buf)), ['X/', 'X/Y/', 'X/IN_X.EXE', 'X/Y/X/', 'X/Y/IN_Y.EXE'])
  })

  test('2000 directories starting inside one already read: none read again', () => {
    // the root runs over 40 sectors, its records crossing sectors as Linux reads them
    const img = new Img(64).primary(20, 40 * SECTOR)
    const records = [dot(20, 40 * SECTOR), dotdot(20), record('REAL', 60, 2 * SECTOR, true)]
    for (let i = 0; i < 2000; i++) records.push(record(`D${i}`, 61, SECTOR, true))
    img.dir(20, records)
    img.dir(60, [dot(60, 2 * SECTOR), dotdot(20)])
    img.dir(61, [record('Z.EXE', 62, 1, false)])
    const listing = listed(img.buf, 5000)
    assert.deepEqual(
      listing.entries.filter((e) => !e.dir).map((e) => e.path),
      ['REAL/Z.EXE'],
    )
    assert.equal(listing.entries.length, 2002)
    assert.equal(listing.unsafe, undefined)
  })
})

describe('broken records and sizes', () => {
  test('a record length 0 mid-sector ends that sector; the next sector is read', () => {
    const img = new Img(24).primary(20, 2 * SECTOR)
    img.dir(20, [dot(20, 2 * SECTOR), dotdot(20), record('A.EXE', 22, 1, false), Buffer.from([0]), record('HIDDEN.EXE', 22, 1, false)])
    img.dir(21, [record('C.EXE', 22, 1, false)])
    const listing = listed(img.buf)
    assert.deepEqual(paths(listing), ['A.EXE', 'C.EXE'])
    assert.equal(listing.unsafe, undefined)
  })

  test('a record running past its sector is read as Linux reads it, and the records after it', () => {
    const img = new Img(24).primary(20, 2 * SECTOR)
    // records one after another up to 10 bytes before the sector's end: 68 + 7 * 250 + 220 = 2038
    const filler = [...Array<Buffer>(7).fill(record('P', 22, 0, false, Buffer.alloc(216))), record('P', 22, 0, false, Buffer.alloc(186))]
    img.dir(20, [dot(20, 2 * SECTOR), dotdot(20), ...filler, record('CROSS.EXE', 22, 1, false), record('AFTER.EXE', 22, 1, false)])
    assert.equal(img.buf.indexOf('CROSS.EXE'), 20 * SECTOR + SECTOR - 10 + 33)
    assert.deepEqual(paths(listed(img.buf)).filter((p) => p !== 'P'), ['CROSS.EXE', 'AFTER.EXE'])
  })

  test('a record no reader can parse (its name longer than the record) skips to the next sector', () => {
    const img = new Img(24).primary(20, 2 * SECTOR)
    const bad = record('BAD.EXE', 22, 1, false)
    bad[32] = 200
    img.dir(20, [dot(20, 2 * SECTOR), dotdot(20), bad, record('SKIPPED.EXE', 22, 1, false)])
    img.dir(21, [record('NEXT.EXE', 22, 1, false)])
    assert.deepEqual(paths(listed(img.buf)), ['NEXT.EXE'])
  })

  test('an image ending mid-record in its root: the entries before the cut, unsafe', () => {
    const img = new Img(21).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('A.EXE', 20, 0, false), record('CUT.EXE', 20, 0, false)])
    const listing = listIso9660(img.buf.subarray(0, 20 * SECTOR + 34 + 34 + 40 + 20), MAX)
    assert.deepEqual(paths(listing), ['A.EXE'])
    assert.equal(listing.unsafe, 'directory / runs past the end of the image')
  })

  test('declared sizes of 4 GB: nothing allocated, the file listed with its size, the directory read to the end of the image; unsafe', () => {
    const FOUR_GB = 0xffffffff
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('HUGE.ISO', 22, FOUR_GB, false), record('BIG', 21, FOUR_GB, true)])
    img.dir(21, [dot(21, FOUR_GB), dotdot(20), record('IN_BIG.EXE', 23, 1, false)])
    const before = process.memoryUsage().arrayBuffers
    const listing = listed(img.buf)
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'no allocation by declared size')
    assert.deepEqual(paths(listing), ['HUGE.ISO', 'BIG/', 'BIG/IN_BIG.EXE'])
    assert.equal(listing.entries[0].size, FOUR_GB)
    assert.equal(listing.unsafe, 'a file runs past the end of the image')
  })

  test('a root of 4 GB in a small image', () => {
    const img = new Img(21).primary(20, 0xffffffff)
    img.dir(20, [dot(20), dotdot(20), record('A.EXE', 20, 0, false)])
    assert.deepEqual(listed(img.buf), {
      entries: [{ path: 'A.EXE', dir: false, size: 0, offset: 20 * SECTOR, tree: 'primary' }],
      unsafe: 'directory / runs past the end of the image',
    })
  })

  test('a directory past the end of the image: unsafe', () => {
    const img = new Img(21).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('GONE', 9999, SECTOR, true)])
    assert.deepEqual(listed(img.buf), {
      entries: [{ path: 'GONE', dir: true, size: SECTOR, offset: 9999 * SECTOR, tree: 'primary' }],
      unsafe: 'directory GONE lies past the end of the image',
    })
  })

  test('a file in two sections (multi-extent): one entry, the sizes added', () => {
    const img = new Img(26).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('BIG.ZIP;1', 21, SECTOR, false, undefined, 0x80), record('BIG.ZIP;1', 22, 100, false)])
    assert.deepEqual(listed(img.buf).entries, [{ path: 'BIG.ZIP', dir: false, size: SECTOR + 100, offset: 21 * SECTOR, tree: 'primary' }])
  })

  test('more entries than the cap: exactly the cap, unsafe', () => {
    const img = new Img(24).primary(20)
    const records = [dot(20), dotdot(20)]
    for (let i = 0; i < 40; i++) records.push(record(`F${i}.EXE`, 22, 0, false))
    img.dir(20, records)
    const listing = listIso9660(img.buf, 25)
    assert.equal(listing.entries.length, 25)
    assert.equal(listing.unsafe, 'more than 25 entries')
  })

  test('directories nested deeper than 64: unsafe', () => {
    const img = new Img(100).primary(20)
    for (let d = 0; d < 70; d++) img.dir(20 + d, [dot(20 + d), dotdot(20), record('D', 21 + d, SECTOR, true)])
    const listing = listed(img.buf)
    // the directory at depth 65 is listed, not read
    assert.equal(listing.entries.length, 65)
    assert.equal(listing.entries[64].path, Array(65).fill('D').join('/'))
    assert.equal(listing.unsafe, 'directories nested deeper than 64')
  })
})

describe('names as each system shows them', () => {
  test('primary: version and trailing dot dropped; a ";" inside gives the Windows and the Linux reading', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('README.;1', 22, 0, false), record('A.PDF;EXE', 22, 0, false), record('B.EXE\0.PDF;1', 22, 0, false)])
    assert.deepEqual(paths(listed(img.buf)), ['README', 'A.PDF', 'A.PDF.EXE', 'B.EXE'])
  })

  test('Joliet: UCS-2BE, version dropped, lone surrogates as they come', () => {
    const img = new Img(26).primary(20).descriptor(17, 2, dot(21), true).descriptor(18, 255, Buffer.alloc(34))
    img.dir(20, [dot(20), dotdot(20)])
    img.dir(21, [dot(21), dotdot(21), record(ucs2('Rechnung €.exe;1'), 22, 0, false), record(Buffer.from([0xd8, 0x00, 0x00, 0x61]), 22, 0, false)])
    assert.deepEqual(paths(listed(img.buf), 'joliet'), ['Rechnung €.exe', '\ud800a'])
  })

  test('a tree in Joliet only and a different one in the primary descriptor: both listed', () => {
    const img = new Img(28).primary(20).descriptor(17, 2, dot(21), true).descriptor(18, 255, Buffer.alloc(34))
    img.dir(20, [dot(20), dotdot(20), record('README.TXT;1', 24, 5, false)])
    img.dir(21, [dot(21), dotdot(21), record(ucs2('setup'), 22, SECTOR, true)])
    img.dir(22, [dot(22), dotdot(21), record(ucs2('invoice.exe;1'), 25, 7, false)])
    const listing = listed(img.buf)
    assert.deepEqual(listing.entries, [
      { path: 'README.TXT', dir: false, size: 5, offset: 24 * SECTOR, tree: 'primary' },
      { path: 'setup', dir: true, size: SECTOR, offset: 22 * SECTOR, tree: 'joliet' },
      { path: 'setup/invoice.exe', dir: false, size: 7, offset: 25 * SECTOR, tree: 'joliet' },
    ])
  })

  test('a supplementary descriptor without the Joliet escape: its tree read by bytes, as primary', () => {
    const img = new Img(26).primary(20).descriptor(17, 2, dot(21)).descriptor(18, 255, Buffer.alloc(34))
    img.dir(20, [dot(20), dotdot(20)])
    img.dir(21, [dot(21), dotdot(21), record('evil.exe', 22, 0, false)])
    assert.deepEqual(paths(listed(img.buf)), ['evil.exe'])
  })

  test('Rock Ridge: NM parts joined (CONTINUE), cut at a NUL, "." flags skipped; SP skip bytes honoured', () => {
    const img = new Img(24).primary(20)
    const su = (...parts: Buffer[]): Buffer => Buffer.concat([Buffer.from([0, 0]), ...parts]) // two bytes skipped per SP
    img.dir(20, [
      dot(20, SECTOR, sp(2)),
      dotdot(20),
      record('A.PDF;1', 22, 0, false, su(nm('invoice', 1), nm('.exe'))),
      record('B.PDF;1', 22, 0, false, su(nm('run.exe\0.pdf'))),
      record('C.PDF;1', 22, 0, false, su(nm('', 2), nm('c.scr'))),
      record('D.PDF;1', 22, 0, false),
    ])
    assert.deepEqual(paths(listed(img.buf), 'rockridge'), ['invoice.exe', 'run.exe', 'c.scr', 'D.PDF'])
  })

  test('Rock Ridge names without an SP entry are still read (Linux reads them)', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('A.PDF;1', 22, 0, false, nm('a.exe'))])
    assert.deepEqual(trees(listed(img.buf)), { primary: ['A.PDF'], rockridge: ['a.exe'] })
  })

  test('a name continued in a CE area; a CE loop stops after 32 areas with the name under 254 bytes', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20, SECTOR, sp()), dotdot(20), record('A;1', 22, 0, false, Buffer.concat([nm('long-', 1), ce(23, 0, 40)])), record('L;1', 22, 0, false, ce(23, 100, 34))])
    nm('name.exe').copy(img.buf, 23 * SECTOR)
    // an area that continues in itself
    Buffer.concat([nm('x', 1), ce(23, 100, 34)]).copy(img.buf, 23 * SECTOR + 100)
    const listing = listed(img.buf)
    const rr = paths(listing, 'rockridge')
    assert.equal(rr[0], 'long-name.exe')
    assert.equal(rr[1], 'x'.repeat(31))
    assert.equal(listing.unsafe, undefined)
  })

  test('a CE area past the end of the image: unsafe, the name read so far kept', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20, SECTOR, sp()), dotdot(20), record('A;1', 22, 0, false, Buffer.concat([nm('part', 1), ce(500, 0, 10)]))])
    assert.deepEqual(listed(img.buf), {
      entries: [
        { path: 'A', dir: false, size: 0, offset: 22 * SECTOR, tree: 'primary' },
        { path: 'part', dir: false, size: 0, offset: 22 * SECTOR, tree: 'rockridge' },
      ],
      unsafe: 'a Rock Ridge continuation area lies past the end of the image',
    })
  })

  test('many records continuing in one looping area: stopped by the budget of continuation bytes, unsafe', { timeout: 30_000 }, () => {
    const img = new Img(64).primary(20, 40 * SECTOR)
    const records = [dot(20, 40 * SECTOR, sp()), dotdot(20)]
    for (let i = 0; i < 1500; i++) records.push(record(`F${i};1`, 62, 0, false, ce(63, 0, 34)))
    img.dir(20, records)
    Buffer.concat([nm('x', 1), ce(63, 0, 34)]).copy(img.buf, 63 * SECTOR)
    const listing = listed(img.buf, 5000)
    assert.equal(listing.unsafe, 'Rock Ridge continuation areas add up to more than the image')
    // 1500 x 31 areas of 34 bytes would be 1.5 MB; the image is 128 KB
    const rr = listing.entries.filter((e) => e.tree === 'rockridge')
    assert.ok(rr.length > 0 && rr.length < 1500, `${rr.length} Rock Ridge entries before the budget ran out`)
  })

  test('Rock Ridge: a CL link to a directory nowhere in the primary tree is followed; an RE directory no link reaches is shown where it stands', () => {
    const cl = (block: number): Buffer => {
      const b = Buffer.alloc(12)
      b.write('CL', 0, 'latin1')
      b[2] = 12
      b[3] = 1
      b.writeUInt32LE(block, 4)
      b.writeUInt32BE(block, 8)
      return b
    }
    const re = Buffer.from([0x52, 0x45, 4, 1])
    const img = new Img(30).primary(20)
    img.dir(20, [dot(20, SECTOR, sp()), dotdot(20), record('LINK;1', 0, 0, false, Buffer.concat([nm('hidden'), cl(22)])), record('MOVED', 23, SECTOR, true, Buffer.concat([nm('moved'), re]))])
    img.dir(22, [dot(22), dotdot(20), record('X.EXE;1', 25, 0, false, nm('x.exe'))])
    img.dir(23, [dot(23), dotdot(20), record('Y.EXE;1', 25, 0, false, nm('y.exe'))])
    const listing = listed(img.buf)
    assert.deepEqual(paths(listing, 'rockridge'), ['hidden/', 'hidden/x.exe', 'moved/', 'moved/y.exe'])
    assert.deepEqual(paths(listing, 'primary'), ['LINK', 'MOVED/', 'MOVED/Y.EXE'])
  })
})

// --------------------------------------------------------------- damaged images

describe('damaged real images: no throw, no hang, bounded entries', () => {
  const DEEP: Files = { ...FILES, 'a/b/c/d/e/f/g/h/i/j/k.exe': 'MZ', [`${'l'.repeat(240)}.exe`]: 'MZ' }

  test('every 2 KB prefix: unsafe, or the whole listing', { timeout: 60_000 }, (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const data = genisoimage(DEEP, '-J', '-R')
    const whole = listed(data)
    assert.equal(whole.unsafe, undefined)
    let complete = 0
    for (let n = 0; n < data.length; n += SECTOR) {
      const listing = listed(data.subarray(0, n))
      if (listing.unsafe === undefined) {
        assert.deepEqual(listing, whole, `a prefix of ${n} bytes read whole is the whole listing`)
        complete++
      }
    }
    t.diagnostic(`${data.length / SECTOR} prefixes, ${complete} of them past the last byte any entry needs`)
  })

  test('2000 seeded byte flips in the descriptor and directory sectors', { timeout: 120_000 }, (t) => {
    if (!haveTool(t, 'genisoimage')) return
    const data = genisoimage(DEEP, '-J', '-R')
    // from the descriptors to the last directory sector: path tables and the roots too
    let last = 20
    for (const e of listed(data).entries) if (e.dir) last = Math.max(last, (e.offset + e.size) / SECTOR)
    const targets = Array.from({ length: last - 16 }, (_, i) => 16 + i)
    const next = mulberry32(17)
    let unsafe = 0
    const start = process.hrtime.bigint()
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(data)
      const flips = 1 + Math.floor(next() * 8)
      for (let f = 0; f < flips; f++) {
        const at = targets[Math.floor(next() * targets.length)] * SECTOR + Math.floor(next() * SECTOR)
        copy[at] = Math.floor(next() * 256)
      }
      const listing = listed(copy, 200)
      if (listing.unsafe !== undefined) unsafe++
    }
    t.diagnostic(`2000 damaged images, ${unsafe} unsafe, in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(0)} ms`)
  })

  test('2000 seeded images of random records under a valid descriptor', { timeout: 120_000 }, () => {
    const next = mulberry32(42)
    for (let i = 0; i < 2000; i++) {
      const img = new Img(28).primary(20, 4 * SECTOR)
      for (let at = 20 * SECTOR; at < 28 * SECTOR; at++) img.buf[at] = next() < 0.3 ? Math.floor(next() * 256) : Math.floor(next() * 30)
      listed(img.buf, 200)
    }
  })

  test('8 MB of records that add no entry ("." records, sections of one file): read through once; time printed', (t) => {
    const sectors = 4096
    for (const [label, one] of [
      ['"." records', dot(20)],
      ['sections of one file', record('M;1', 20, 0, false, undefined, 0x80)],
    ] as const) {
      const img = new Img(sectors).primary(20, (sectors - 20) * SECTOR)
      const count = Math.floor(((sectors - 20) * SECTOR) / one.length)
      img.dir(20, Array<Buffer>(count).fill(one))
      const start = process.hrtime.bigint()
      const listing = listed(img.buf)
      t.diagnostic(`${label}: ${count} records in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`)
      assert.equal(listing.unsafe, undefined)
      assert.deepEqual(paths(listing), label === '"." records' ? [] : ['M'])
    }
  })

  test('a deadline passing: ScanDeadlineError passed through', () => {
    const img = new Img(24).primary(20)
    img.dir(20, [dot(20), dotdot(20), record('A.EXE', 22, 0, false)])
    const deadline = {
      tick: () => undefined,
      check: () => {
        throw new ScanDeadlineError('past')
      },
    }
    assert.throws(() => listIso9660(img.buf, MAX, deadline), ScanDeadlineError)
  })
})
