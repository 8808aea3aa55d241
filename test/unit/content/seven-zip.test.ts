// The 7-Zip (WASM) archive lister: exact listings of archives built by 7-Zip
// itself and of a real RAR 4, encrypted headers refused, one member's bytes
// within the declared and solid-block caps, a header declaring a huge
// dictionary refused with the instance replaced, and damaged input (every
// 17th prefix, seeded byte flips) answered without a throw or a hang.
import { before, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import factory from '7z-wasm'
import { extractEntry, listArchive, loadSevenZip, MAX_MEMORY, MAX_PACKED_HEADER, type ArchiveKind, type Listing, type SevenZip } from '../../../plugins/lib/content/archive/seven-zip'
import { mulberry32 } from '../../rig/prng'
import { waitFor } from '../../rig/wait'

const EXE = Buffer.from('MZ\x90\x00 this program cannot be run in DOS mode', 'latin1')
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n', 'latin1')

// rspamd, test/functional/messages/rar4.eml (Apache-2.0): the base64 of the
// attached f.rar, a RAR 4 archive holding fake.exe.
const RAR4 = Buffer.from('UmFyIRoHAM+QcwAADQAAAAAAAADSkHQggCgAAQAAAAEAAAADkwbXMiqO6UgdMAgAtIEAAGZha2UuZXhlCsQ9ewBABwA=', 'base64')

// libarchive, libarchive/test/test_read_format_cab_2.cab.uu (BSD-2-Clause,
// Copyright (c) 2010 Michihiro NAKAJIMA): one MSZIP folder holding empty,
// zero (33000 bytes), dir1\file1 and dir2\file2.
const CAB = Buffer.from(
  'TVNDRgAAAAD1AAAAAAAAACwAAAAAAAAAAwEBAAQAAAArCwAAjQAAAAIAAQAAAAAAAAAAAAAAkT1GpSAAZW1wdHkA6IAAAAAAAAAAAJE9RqUgAHplcm8APAAAAOiAAAAAAJE9RqUgAGRpcjFcZmlsZTEATgAAACSBAAAAAJE9RqUgAGRpcjJcZmlsZTIA3SR1pzAAAIBDS+3BAQEAAACAkP6v7ggCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABo7sDFfKAByAUNLGykhoIATpGXmpCoYKiTn55Wk5pUUc2Wk5uTko5AE9Brh04tJAgA=',
  'base64',
)

interface Built {
  plain7z: Buffer
  solid7z: Buffer
  encryptedData7z: Buffer
  encryptedHeaders7z: Buffer
  nested7z: Buffer
  innerZip: Buffer
  tar: Buffer
  gzip: Buffer
  zeros7z: Buffer
  /** 8 MB of zeros, one LZMA coder, the header plain. */
  lzmaZeros7z: Buffer
}

/** Archives made by 7-Zip's own `a` command in a separate instance of the module. */
async function build(): Promise<Built> {
  const m = await factory({ print: () => undefined, printErr: () => undefined })
  const FS = m.FS
  FS.mkdir('/src')
  FS.chdir('/src')
  FS.writeFile('/src/invoice.exe', EXE)
  FS.writeFile('/src/report.pdf', PDF)
  const exitCode = process.exitCode
  const make = (name: string, ...args: string[]): Buffer => {
    m.callMain(['a', '-bso0', '-bsp0', ...args, `/${name}`, 'invoice.exe', 'report.pdf'])
    return Buffer.from(FS.readFile(`/${name}`))
  }
  const built: Built = {
    plain7z: make('plain.7z', '-t7z', '-ms=off', '-mx=1'),
    solid7z: make('solid.7z', '-t7z', '-ms=on', '-mx=1'),
    encryptedData7z: make('data.7z', '-t7z', '-psecret'),
    encryptedHeaders7z: make('headers.7z', '-t7z', '-mhe=on', '-psecret'),
    tar: make('a.tar', '-ttar'),
    innerZip: Buffer.alloc(0),
    nested7z: Buffer.alloc(0),
    gzip: Buffer.alloc(0),
    zeros7z: Buffer.alloc(0),
    lzmaZeros7z: Buffer.alloc(0),
  }
  m.callMain(['a', '-bso0', '-bsp0', '-tzip', '/src/inner.zip', 'invoice.exe'])
  built.innerZip = Buffer.from(FS.readFile('/src/inner.zip'))
  m.callMain(['a', '-bso0', '-bsp0', '-t7z', '-ms=on', '/nested.7z', 'inner.zip', 'report.pdf'])
  built.nested7z = Buffer.from(FS.readFile('/nested.7z'))
  m.callMain(['a', '-bso0', '-bsp0', '-tgzip', '/report.pdf.gz', 'report.pdf'])
  built.gzip = Buffer.from(FS.readFile('/report.pdf.gz'))
  // 200 MB of zeros first, the PDF after it in the same solid block.
  FS.writeFile('/src/a-zeros.bin', new Uint8Array(200 * 1024 * 1024))
  m.callMain(['a', '-bso0', '-bsp0', '-t7z', '-ms=4g', '-mx=1', '/zeros.7z', 'a-zeros.bin', 'report.pdf'])
  FS.unlink('/src/a-zeros.bin')
  built.zeros7z = Buffer.from(FS.readFile('/zeros.7z'))
  FS.writeFile('/src/z.bin', new Uint8Array(8 * 1024 * 1024))
  m.callMain(['a', '-bso0', '-bsp0', '-t7z', '-m0=LZMA:d=1m', '-mx=1', '-mhc=off', '/z.7z', 'z.bin'])
  built.lzmaZeros7z = Buffer.from(FS.readFile('/z.7z'))
  process.exitCode = exitCode
  return built
}

/** The 7z with its LZMA-packed header's dictionary size set to 1.5 GB (CRCs fixed). */
function hugeDictionary(archive: Buffer): Buffer {
  const a = Buffer.from(archive)
  // 7zFormat.txt: the start header holds NextHeaderOffset (12), NextHeaderSize (20), NextHeaderCRC (28).
  const offset = Number(a.readBigUInt64LE(12)) + 32
  const size = Number(a.readBigUInt64LE(20))
  const header = a.subarray(offset, offset + size)
  assert.equal(header[0], 0x17, 'an encoded (packed) header')
  // The LZMA coder: id 03 01 01, 5 property bytes (lc/lp/pb, then the dictionary size).
  const at = header.indexOf(Buffer.from('030101055d', 'hex'))
  assert.ok(at > 0)
  header.writeUInt32LE(0x60000000, at + 5)
  a.writeUInt32LE(zlib.crc32(header), 28)
  a.writeUInt32LE(zlib.crc32(a.subarray(12, 32)), 8)
  return a
}

/** 7zFormat.txt NUMBER in its 9-byte form when it does not fit in 7 bits. */
function sevenZipNumber(v: number): Buffer {
  if (v < 0x80) return Buffer.from([v])
  const b = Buffer.alloc(9)
  b[0] = 0xff
  b.writeBigUInt64LE(BigInt(v), 1)
  return b
}

/** A 7z whose encoded header is the archive's one packed stream (LZMA of `size` zeros). */
function packedStreamAsHeader(archive: Buffer, size: number): Buffer {
  const packed = Number(archive.readBigUInt64LE(12))
  const plain = archive.subarray(32 + packed)
  const coder = plain.indexOf(Buffer.from('030101', 'hex'))
  assert.ok(coder > 0)
  const props = plain.subarray(coder + 4, coder + 9)
  // kEncodedHeader, PackInfo (pos 0, 1 stream, its size), UnpackInfo (1 folder, 1 LZMA coder, unpack size).
  const header = Buffer.concat([
    Buffer.from([0x17, 0x06, 0x00, 0x01, 0x09]),
    sevenZipNumber(packed),
    Buffer.from([0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x23, 0x03, 0x01, 0x01, 0x05]),
    props,
    Buffer.from([0x0c]),
    sevenZipNumber(size),
    Buffer.from([0x00, 0x00]),
  ])
  const out = Buffer.concat([archive.subarray(0, 32 + packed), header])
  out.writeBigUInt64LE(BigInt(header.length), 20)
  out.writeUInt32LE(zlib.crc32(header), 28)
  out.writeUInt32LE(zlib.crc32(out.subarray(12, 32)), 8)
  return out
}

/** listArchive, waiting for the spare instance when a previous input retired the one in use. */
async function list(sz: SevenZip, data: Buffer, kind: ArchiveKind, maxEntries = 1000): Promise<Listing> {
  await waitFor('a 7-Zip instance', () => sz.current !== undefined)
  return listArchive(sz, data, kind, maxEntries)
}

function assertShape(listing: Listing, label: string): void {
  assert.ok(Array.isArray(listing.entries), label)
  assert.ok(listing.unsafe === undefined || (typeof listing.unsafe === 'string' && listing.unsafe !== ''), label)
  for (const e of listing.entries) assert.equal(typeof e.path, 'string', label)
}

const exe = (size = EXE.length, packedSize?: number) => ({ path: 'invoice.exe', dir: false, encrypted: false, size, ...(packedSize === undefined ? {} : { packedSize }) })

describe('7-Zip archive lister', () => {
  let sz: SevenZip
  let built: Built
  before(async () => {
    sz = await loadSevenZip()
    built = await build()
  })

  test('a 7z (not solid): both names, sizes and packed sizes', async () => {
    const l = await list(sz, built.plain7z, '7z')
    assert.equal(l.unsafe, undefined)
    assert.deepEqual(
      l.entries.map((e) => ({ ...e, packedSize: e.packedSize === undefined ? undefined : 'n' })),
      [
        { path: 'invoice.exe', dir: false, encrypted: false, size: EXE.length, packedSize: 'n' },
        { path: 'report.pdf', dir: false, encrypted: false, size: PDF.length, packedSize: 'n' },
      ],
    )
  })

  test('a solid 7z: the packed size only on the block\'s first file', async () => {
    const l = await list(sz, built.solid7z, '7z')
    assert.equal(l.unsafe, undefined)
    assert.equal(l.entries.length, 2)
    assert.deepEqual(l.entries[0], exe(EXE.length, l.entries[0].packedSize))
    assert.equal(typeof l.entries[0].packedSize, 'number')
    assert.deepEqual(l.entries[1], { path: 'report.pdf', dir: false, encrypted: false, size: PDF.length })
  })

  test('a 7z with encrypted data and clear headers: names listed, encrypted', async () => {
    const l = await list(sz, built.encryptedData7z, '7z')
    assert.equal(l.unsafe, undefined)
    assert.deepEqual(
      l.entries.map((e) => [e.path, e.encrypted]),
      [
        ['invoice.exe', true],
        ['report.pdf', true],
      ],
    )
  })

  test('a 7z with encrypted headers (-mhe=on): unsafe, and the next archive still lists', async () => {
    const l = await list(sz, built.encryptedHeaders7z, '7z')
    assert.deepEqual(l, { entries: [], unsafe: 'encrypted headers' })
    assert.equal(process.exitCode, undefined, "7-Zip's exit code does not leak into the process")
    const next = await list(sz, built.plain7z, '7z')
    assert.equal(next.unsafe, undefined)
    assert.equal(next.entries.length, 2)
  })

  test('tar and gzip', async () => {
    const tar = await list(sz, built.tar, 'tar')
    assert.deepEqual(tar, {
      entries: [
        { path: 'invoice.exe', dir: false, encrypted: false, size: EXE.length, packedSize: 512 },
        { path: 'report.pdf', dir: false, encrypted: false, size: PDF.length, packedSize: 512 },
      ],
    })
    const gz = await list(sz, built.gzip, 'gzip')
    assert.equal(gz.unsafe, undefined)
    assert.deepEqual(
      gz.entries.map((e) => [e.path, e.dir, e.encrypted, e.size]),
      [['report.pdf', false, false, PDF.length]],
    )
    assert.deepEqual(extractEntry(sz, built.gzip, 'gzip', 'report.pdf', 1000), PDF)
  })

  test('RAR 4 (rspamd\'s f.rar): fake.exe', async () => {
    const l = await list(sz, RAR4, 'rar')
    assert.deepEqual(l, { entries: [{ path: 'fake.exe', dir: false, encrypted: false, size: 1, packedSize: 1 }] })
  })

  test('CAB (libarchive\'s test_read_format_cab_2): names with "/", extraction capped by the folder before it', async () => {
    const l = await list(sz, CAB, 'cab')
    assert.deepEqual(l, {
      entries: [
        { path: 'empty', dir: false, encrypted: false, size: 0 },
        { path: 'zero', dir: false, encrypted: false, size: 33000 },
        { path: 'dir1/file1', dir: false, encrypted: false, size: 60 },
        { path: 'dir2/file2', dir: false, encrypted: false, size: 78 },
      ],
    })
    assert.equal(extractEntry(sz, CAB, 'cab', 'dir1/file1', 1000), 'its solid block holds 33060 bytes up to it, more than 1000')
    const file1 = extractEntry(sz, CAB, 'cab', 'dir1/file1', 40_000)
    assert.ok(Buffer.isBuffer(file1), String(file1))
    assert.equal(file1.length, 60)
  })

  test('one instance serves a thousand calls in a row (the WASM stack pointer is put back each time)', async () => {
    await waitFor('a 7-Zip instance', () => sz.current !== undefined)
    const used = sz.current
    for (let i = 0; i < 1000; i++) {
      const l = listArchive(sz, RAR4, 'rar', 1000)
      assert.deepEqual(l, { entries: [{ path: 'fake.exe', dir: false, encrypted: false, size: 1, packedSize: 1 }] }, `call ${i}`)
    }
    assert.equal(sz.current, used)
  })

  test('the kind is the only format tried: a 7z read as RAR or tar is unsafe', async () => {
    const asRar = await list(sz, built.plain7z, 'rar')
    assert.deepEqual(asRar.entries, [])
    assert.match(asRar.unsafe ?? '', /Cannot open the file as \[Rar5?\] archive/)
    const asTar = await list(sz, built.plain7z, 'tar')
    assert.deepEqual(asTar.entries, [])
    assert.match(asTar.unsafe ?? '', /Cannot open the file as \[tar\] archive/)
  })

  test('more than maxEntries: the first ones kept, unsafe', async () => {
    const l = await list(sz, built.plain7z, '7z', 1)
    assert.deepEqual(l.entries.map((e) => e.path), ['invoice.exe'])
    assert.equal(l.unsafe, 'more than 1 entries')
  })

  test('extractEntry: the zip nested in a solid 7z, byte for byte', async () => {
    await waitFor('a 7-Zip instance', () => sz.current !== undefined)
    assert.deepEqual(extractEntry(sz, built.nested7z, '7z', 'inner.zip', 10_000), built.innerZip)
    const l = await list(sz, built.nested7z, '7z')
    assert.deepEqual(l.entries.map((e) => e.path), ['inner.zip', 'report.pdf'])
  })

  test('extractEntry refuses by declared sizes, its own and its solid block\'s before it', async (t: TestContext) => {
    await waitFor('a 7-Zip instance', () => sz.current !== undefined)
    assert.equal(extractEntry(sz, built.plain7z, '7z', 'report.pdf', PDF.length - 1), `declared size ${PDF.length} is more than ${PDF.length - 1} bytes`)
    assert.deepEqual(extractEntry(sz, built.plain7z, '7z', 'report.pdf', PDF.length), PDF)
    // In the solid archive invoice.exe comes first in the same block.
    assert.equal(
      extractEntry(sz, built.solid7z, '7z', 'report.pdf', PDF.length),
      `its solid block holds ${EXE.length + PDF.length} bytes up to it, more than ${PDF.length}`,
    )
    assert.deepEqual(extractEntry(sz, built.solid7z, '7z', 'report.pdf', EXE.length + PDF.length), PDF)
    assert.equal(extractEntry(sz, built.solid7z, '7z', 'missing.exe', 1000), 'no member missing.exe')
    assert.equal(extractEntry(sz, built.encryptedData7z, '7z', 'report.pdf', 1000), 'report.pdf is encrypted')
    const start = process.hrtime.bigint()
    assert.equal(
      extractEntry(sz, built.zeros7z, '7z', 'report.pdf', 1024 * 1024),
      `its solid block holds ${200 * 1024 * 1024 + PDF.length} bytes up to it, more than ${1024 * 1024}`,
    )
    t.diagnostic(`solid block of 200 MB refused in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`)
  })

  test('a solid 7z of 200 MB of zeros lists without inflating it', async (t: TestContext) => {
    await waitFor('a 7-Zip instance', () => sz.current !== undefined)
    const start = process.hrtime.bigint()
    const l = listArchive(sz, built.zeros7z, '7z', 1000)
    t.diagnostic(`listed ${built.zeros7z.length} bytes (200 MB declared) in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`)
    assert.equal(l.unsafe, undefined)
    assert.deepEqual(
      l.entries.map((e) => [e.path, e.size]),
      [
        ['a-zeros.bin', 200 * 1024 * 1024],
        ['report.pdf', PDF.length],
      ],
    )
    const memory = sz.current?.memory.buffer.byteLength ?? 0
    assert.ok(memory <= 64 * 1024 * 1024, `wasm memory ${memory}`)
  })

  test('a packed header declaring a 1.5 GB dictionary: unsafe, and the grown instance is replaced', async (t: TestContext) => {
    await waitFor('a spare 7-Zip instance', () => sz.current !== undefined && sz.spare !== undefined)
    const used = sz.current
    const rss = process.memoryUsage().rss
    const l = listArchive(sz, hugeDictionary(built.plain7z), '7z', 1000)
    t.diagnostic(`wasm memory after: ${used?.memory.buffer.byteLength}, RSS ${rss} -> ${process.memoryUsage().rss}`)
    assert.equal(l.unsafe, `reading its headers takes more than ${MAX_MEMORY / 1048576} MB of memory`)
    assert.notEqual(sz.current, used)
    assert.ok((sz.current?.memory.buffer.byteLength ?? 0) <= 64 * 1024 * 1024)
    const next = await list(sz, built.plain7z, '7z')
    assert.equal(next.unsafe, undefined)
  })

  test('a packed header that unpacks to 8 MB: unsafe before 7-Zip decodes it', async () => {
    const l = await list(sz, packedStreamAsHeader(built.lzmaZeros7z, 8 * 1024 * 1024), '7z')
    assert.deepEqual(l, { entries: [], unsafe: `its packed header unpacks to ${8 * 1024 * 1024} bytes, more than ${MAX_PACKED_HEADER}` })
    // The same archive with the header's declared size within the cap is left to 7-Zip, which finds it is no header.
    const small = packedStreamAsHeader(built.lzmaZeros7z, 1024)
    const l2 = await list(sz, small, '7z')
    assert.deepEqual(l2.entries, [])
    assert.notEqual(l2.unsafe, undefined)
  })

  const kinds: [Exclude<keyof Built, 'lzmaZeros7z'> | 'rar4' | 'cab', ArchiveKind][] = [
    ['plain7z', '7z'],
    ['solid7z', '7z'],
    ['encryptedHeaders7z', '7z'],
    ['tar', 'tar'],
    ['gzip', 'gzip'],
    ['rar4', 'rar'],
    ['cab', 'cab'],
  ]
  const bytesOf = (name: Exclude<keyof Built, 'lzmaZeros7z'> | 'rar4' | 'cab'): Buffer => (name === 'rar4' ? RAR4 : name === 'cab' ? CAB : built[name])

  test('every 17th prefix of each archive: a listing or unsafe, never a throw', async (t: TestContext) => {
    const start = process.hrtime.bigint()
    let calls = 0
    for (const [name, kind] of kinds) {
      const data = bytesOf(name)
      for (let n = 0; n < data.length; n += 17) {
        const l = await list(sz, data.subarray(0, n), kind)
        calls++
        assertShape(l, `${name} cut at ${n}`)
        if (kind === '7z') assert.notEqual(l.unsafe, undefined, `${name} cut at ${n}`)
      }
    }
    t.diagnostic(`${calls} prefixes in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(0)} ms`)
  })

  test('2000 seeded byte flips of each archive: a listing or unsafe, never a throw', async (t: TestContext) => {
    const next = mulberry32(17)
    for (const [name, kind] of kinds) {
      const start = process.hrtime.bigint()
      const data = bytesOf(name)
      let unsafe = 0
      for (let i = 0; i < 2000; i++) {
        const copy = Buffer.from(data)
        const flips = 1 + Math.floor(next() * 4)
        for (let f = 0; f < flips; f++) copy[Math.floor(next() * copy.length)] ^= 1 + Math.floor(next() * 255)
        const l = await list(sz, copy, kind)
        assertShape(l, `${name} flip ${i}`)
        if (l.unsafe !== undefined) unsafe++
      }
      t.diagnostic(`${name}: 2000 flipped copies, ${unsafe} unsafe, in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(0)} ms`)
    }
    assert.equal(process.exitCode, undefined)
  })
})
