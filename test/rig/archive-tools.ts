// Archives built by the real tools, for the tests of the archive readers:
// 7-Zip (7zz from Debian's 7zip, or 7z from p7zip-full), genisoimage and
// xorriso (ISO 9660, Joliet, Rock Ridge, UDF), tar (ustar, pax, GNU), gzip
// and gcab (CAB). Each builder writes the files into a fresh temporary
// directory, runs the tool there and returns the archive's bytes; nothing
// stays behind. RAR cannot be made with free tools: its archives come from
// public test suites (test/fixtures/archives/SOURCES.md), and the rig renames
// members in them to make the cases those suites lack.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'

/** Relative path (with '/') → content; directories are made as needed. */
export type Tree = Record<string, Buffer | string>

// The Debian package that gives each command: a missing tool is named by it.
const PACKAGE: Record<string, string> = {
  '7zz': '7zip',
  '7z': 'p7zip-full',
  genisoimage: 'genisoimage',
  xorriso: 'xorriso',
  gcab: 'gcab',
  tar: 'tar',
  gzip: 'gzip',
}
const SEARCHED = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']

function found(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCHED]
  for (const dir of dirs) {
    const file = path.join(dir, cmd)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/** The first of `cmds` installed, or an error naming the Debian package (test/setup.sh installs it). */
export function tool(...cmds: string[]): string {
  for (const cmd of cmds) {
    const file = found(cmd)
    if (file) return file
  }
  const pkgs = cmds.map((c) => PACKAGE[c] ?? c)
  throw new Error(`${cmds.join(' or ')} not found: install the Debian package ${pkgs.join(' or ')} (apt-get install ${pkgs[0]}; test/setup.sh does)`)
}

/** 7-Zip's command: 7zz (Debian 7zip) or 7z (p7zip-full). */
export function sevenZipTool(): string {
  return tool('7zz', '7z')
}

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message?: string }
    throw new Error(`${path.basename(cmd)} ${args.join(' ')}: ${e.stderr?.toString() || e.stdout?.toString() || e.message}`, { cause: err })
  }
}

/** Runs fn in a fresh temporary directory holding `tree` under src/, then removes it. */
function inTemp<T>(tree: Tree, fn: (dir: string, src: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-tools-'))
  try {
    const src = path.join(dir, 'src')
    fs.mkdirSync(src)
    for (const [name, data] of Object.entries(tree)) {
      const file = path.join(src, ...name.split('/'))
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, data)
    }
    return fn(dir, src)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The tree's top-level names, sorted, as the tools' operands. */
function topLevel(tree: Tree): string[] {
  return [...new Set(Object.keys(tree).map((n) => n.split('/')[0]))].sort()
}

export interface SevenZipOptions {
  /** One solid block for all files (-ms=on); default off. */
  solid?: boolean
  /** The data's method (-m0=); default LZMA2. */
  method?: 'LZMA2' | 'LZMA' | 'Copy'
  /** The header packed with LZMA (-mhc=on, 7-Zip's default) or written plain (-mhc=off). */
  packedHeader?: boolean
  /** A password: the data is encrypted (AES-256). */
  password?: string
  /** With a password, the header too (-mhe=on): the names cannot be read without it. */
  encryptHeader?: boolean
  /** -mx level; default 5. */
  level?: number
}

/** A 7z archive of `tree`. */
export function sevenZip(tree: Tree, o: SevenZipOptions = {}): Buffer {
  const sz = sevenZipTool()
  return inTemp(tree, (dir, src) => {
    const out = path.join(dir, 'out.7z')
    const args = ['a', '-t7z', '-bd', '-y', `-mx=${o.level ?? 5}`, `-ms=${o.solid ? 'on' : 'off'}`, `-m0=${o.method ?? 'LZMA2'}`, `-mhc=${o.packedHeader === false ? 'off' : 'on'}`]
    if (o.password !== undefined) args.push(`-p${o.password}`, `-mhe=${o.encryptHeader ? 'on' : 'off'}`)
    run(sz, [...args, out, '--', ...topLevel(tree)], src)
    return fs.readFileSync(out)
  })
}

/**
 * A 7z archive of one file of `bytes` zeros named `name`, streamed from
 * /dev/zero into 7-Zip: the file never exists, on disk or in memory.
 */
export function sevenZipOfZeros(name: string, bytes: number): Buffer {
  const sz = sevenZipTool()
  return inTemp({}, (dir) => {
    const out = path.join(dir, 'zeros.7z')
    run('/bin/sh', ['-c', 'head -c "$0" /dev/zero | "$1" a -t7z -bd -y -mx=1 -si"$2" "$3" >/dev/null', String(bytes), sz, name, out], dir)
    return fs.readFileSync(out)
  })
}

/** A zip archive of `tree` made by 7-Zip (deflated; `store`: method Copy). */
export function zip(tree: Tree, o: { store?: boolean } = {}): Buffer {
  const sz = sevenZipTool()
  return inTemp(tree, (dir, src) => {
    const out = path.join(dir, 'out.zip')
    run(sz, ['a', '-tzip', '-bd', '-y', `-mm=${o.store ? 'Copy' : 'Deflate'}`, out, '--', ...topLevel(tree)], src)
    return fs.readFileSync(out)
  })
}

export interface IsoOptions {
  /** genisoimage (default) or xorriso's mkisofs emulation. */
  builder?: 'genisoimage' | 'xorriso'
  /** A Joliet tree (-J): the names Windows shows. */
  joliet?: boolean
  /** Rock Ridge names (-R): the names Linux shows. */
  rockRidge?: boolean
  /** A UDF tree beside the ISO 9660 one (genisoimage -udf). */
  udf?: boolean
}

/** A disk image of `tree` (an IMG file is the same bytes under another name). */
export function iso(tree: Tree, o: IsoOptions = {}): Buffer {
  const builder = o.builder ?? 'genisoimage'
  if (o.udf && builder !== 'genisoimage') throw new Error('UDF images are made with genisoimage')
  const cmd = tool(builder)
  return inTemp(tree, (dir, src) => {
    const out = path.join(dir, 'out.iso')
    const args = [...(builder === 'xorriso' ? ['-as', 'mkisofs'] : []), '-quiet', '-V', 'DISK', '-o', out]
    if (o.joliet) args.push('-J')
    if (o.rockRidge) args.push('-R')
    if (o.udf) args.push('-udf')
    run(cmd, [...args, src], dir)
    return fs.readFileSync(out)
  })
}

export type TarFormat = 'ustar' | 'pax' | 'gnu'

/** A tar archive of `tree` in `format`; files owned by 0:0 and in name order, so the bytes depend on the tree only (and the time). */
export function tar(tree: Tree, format: TarFormat): Buffer {
  const cmd = tool('tar')
  return inTemp(tree, (dir, src) => {
    const out = path.join(dir, 'out.tar')
    run(cmd, [`--format=${format}`, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-cf', out, '-C', src, '--', ...topLevel(tree)], dir)
    return fs.readFileSync(out)
  })
}

/** gzip of one file: its original name `name` in the member's header (gzip -N). */
export function gzip(name: string, data: Buffer | string): Buffer {
  if (name.includes('/')) throw new Error('a gzip member keeps a base name only')
  const cmd = tool('gzip')
  return inTemp({ [name]: data }, (_dir, src) => {
    const out = execFileSync(cmd, ['-N', '-c', '--', name], { cwd: src, maxBuffer: 1 << 30 })
    return out
  })
}

/** A .tar.gz: the tar of `tree` gzipped as the file `name` (its original name). */
export function tarGz(tree: Tree, format: TarFormat, name = 'archive.tar'): Buffer {
  return gzip(name, tar(tree, format))
}

/** A CAB of `tree` (MSZIP-compressed, paths kept), made by gcab. */
export function cab(tree: Tree): Buffer {
  const cmd = tool('gcab')
  return inTemp(tree, (dir, src) => {
    const out = path.join(dir, 'out.cab')
    run(cmd, ['-c', '-z', out, ...Object.keys(tree).sort()], src)
    return fs.readFileSync(out)
  })
}

/** A tree of `count` empty files, dir/f00001.txt …, for entry-count caps (empty: a disk image gives them no sector). */
export function manyFiles(count: number, dir = 'files'): Tree {
  const tree: Tree = {}
  for (let i = 1; i <= count; i++) tree[`${dir}/f${String(i).padStart(5, '0')}.txt`] = ''
  return tree
}

/** The first `fraction` of an archive's bytes: a truncated archive. */
export function truncated(archive: Buffer, fraction = 0.5): Buffer {
  return Buffer.from(archive.subarray(0, Math.floor(archive.length * fraction)))
}

// --- RAR, from public test suites -------------------------------------------

// The sources, from the compiled rig in dist/test/rig/ (not through haraka.ts's
// ROOT: importing it would load the whole bundle).
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'archives')

/** uudecode: the body between "begin" and "end" of a .uu file. */
export function uudecode(text: string): Buffer {
  const out: number[] = []
  let inside = false
  for (const line of text.split(/\r?\n/)) {
    if (!inside) {
      inside = line.startsWith('begin ')
      continue
    }
    if (line === 'end') return Buffer.from(out)
    if (line === '') continue
    const sextet = (i: number): number => (line.charCodeAt(i) - 32) & 63
    const n = sextet(0)
    const start = out.length
    for (let i = 1; out.length - start < n; i += 4) {
      const a = sextet(i), b = sextet(i + 1), c = sextet(i + 2), d = sextet(i + 3)
      for (const byte of [(a << 2) | (b >> 4), ((b & 15) << 4) | (c >> 2), ((c & 3) << 6) | d]) {
        if (out.length - start < n) out.push(byte & 255)
      }
    }
  }
  throw new Error('uuencoded text without its "end" line')
}

export type Rar5Fixture = 'stored' | 'multiple_files_solid' | 'encrypted' | 'encrypted_filenames'

/** One of libarchive's RAR 5 test archives (see SOURCES.md). */
export function rar5(name: Rar5Fixture): Buffer {
  return uudecode(fs.readFileSync(path.join(FIXTURES, `test_read_format_rar5_${name}.rar.uu`), 'latin1'))
}

/** rspamd's RAR 4 test archive holding fake.exe (see SOURCES.md). */
export function rar4FakeExe(): Buffer {
  return Buffer.from(fs.readFileSync(path.join(FIXTURES, 'rspamd-rar4-fake-exe.rar.b64'), 'latin1'), 'base64')
}

/** A RAR 5 variable-length integer at `at`: its value and length. */
function vint(buf: Buffer, at: number): { value: number; length: number } {
  let value = 0
  for (let i = 0; i < 10 && at + i < buf.length; i++) {
    value += (buf[at + i] & 0x7f) * 2 ** (7 * i)
    if ((buf[at + i] & 0x80) === 0) return { value, length: i + 1 }
  }
  throw new Error('RAR 5: variable-length integer runs past the archive')
}

const RAR5_SIGNATURE = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1')
const RAR4_SIGNATURE = Buffer.from('Rar!\x1a\x07\x00', 'latin1')

/** Replaces `from` by `to` (same length) in the single header holding it. */
function renameInHeader(archive: Buffer, from: string, to: string, headers: Array<{ start: number; end: number }>, fix: (copy: Buffer, header: { start: number; end: number }) => void): Buffer {
  const a = Buffer.from(from, 'utf8'), b = Buffer.from(to, 'utf8')
  if (a.length !== b.length) throw new Error(`"${from}" and "${to}" differ in length`)
  const copy = Buffer.from(archive)
  const holding = headers.filter((h) => { const i = copy.indexOf(a, h.start); return i >= 0 && i + a.length <= h.end })
  if (holding.length !== 1) throw new Error(`"${from}" is in ${holding.length} headers, not one`)
  const at = copy.indexOf(a, holding[0].start)
  b.copy(copy, at)
  fix(copy, holding[0])
  return copy
}

/**
 * A RAR 5 archive with a member's name changed to another of the same
 * length, the header's CRC32 (of the header after the CRC field: its size,
 * then the header) computed again. Member data is not touched.
 */
export function renameInRar5(archive: Buffer, from: string, to: string): Buffer {
  if (!archive.subarray(0, 8).equals(RAR5_SIGNATURE)) throw new Error('not a RAR 5 archive')
  const headers: Array<{ start: number; end: number }> = []
  for (let at = 8; at + 4 < archive.length;) {
    const size = vint(archive, at + 4)
    const body = at + 4 + size.length
    const end = body + size.value
    const type = vint(archive, body)
    const flags = vint(archive, body + type.length)
    let field = body + type.length + flags.length
    if (flags.value & 1) field += vint(archive, field).length // extra area size
    const data = flags.value & 2 ? vint(archive, field).value : 0
    headers.push({ start: at, end })
    if (type.value === 5) break // end of archive
    at = end + data
  }
  return renameInHeader(archive, from, to, headers, (copy, h) => {
    copy.writeUInt32LE(zlib.crc32(copy.subarray(h.start + 4, h.end)), h.start)
  })
}

/**
 * A RAR 4 archive with a member's name changed (same length), HEAD_CRC (the
 * low 16 bits of the CRC32 of the header after it) computed again.
 */
export function renameInRar4(archive: Buffer, from: string, to: string): Buffer {
  if (!archive.subarray(0, 7).equals(RAR4_SIGNATURE)) throw new Error('not a RAR 4 archive')
  const headers: Array<{ start: number; end: number }> = []
  for (let at = 7; at + 7 <= archive.length;) {
    const flags = archive.readUInt16LE(at + 3)
    const size = archive.readUInt16LE(at + 5)
    const added = flags & 0x8000 && at + 11 <= archive.length ? archive.readUInt32LE(at + 7) : 0
    headers.push({ start: at, end: at + size })
    if (size < 7) break
    at += size + added
  }
  return renameInHeader(archive, from, to, headers, (copy, h) => {
    copy.writeUInt16LE(zlib.crc32(copy.subarray(h.start + 2, h.end)) & 0xffff, h.start)
  })
}

/**
 * A RAR 4 archive of stored files, written here from the format's technote
 * (rar itself is not free software, and no public suite has a RAR with
 * thousands of entries or a large nested archive): marker, main header, one
 * file header per file (method 0x30, store) followed by its bytes, end of
 * archive. HEAD_CRC is the low 16 bits of the CRC32 of the header after it.
 */
export function rar4Stored(tree: Tree): Buffer {
  const block = (type: number, flags: number, body: Buffer, trailing: Buffer = Buffer.alloc(0)): Buffer => {
    const head = Buffer.alloc(7)
    head.writeUInt8(type, 2)
    head.writeUInt16LE(flags, 3)
    head.writeUInt16LE(7 + body.length, 5)
    const header = Buffer.concat([head, body])
    header.writeUInt16LE(zlib.crc32(header.subarray(2)) & 0xffff, 0)
    return Buffer.concat([header, trailing])
  }
  const parts: Buffer[] = [RAR4_SIGNATURE, block(0x73, 0, Buffer.alloc(6))]
  for (const [name, content] of Object.entries(tree)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content)
    const rawName = Buffer.from(name, 'latin1')
    const body = Buffer.alloc(25 + rawName.length)
    body.writeUInt32LE(data.length, 0) // PACK_SIZE
    body.writeUInt32LE(data.length, 4) // UNP_SIZE
    body.writeUInt8(2, 8) // HOST_OS: Windows
    body.writeUInt32LE(zlib.crc32(data), 9) // FILE_CRC
    body.writeUInt32LE(0x5b7c6000, 13) // FTIME, a DOS date in 2025
    body.writeUInt8(20, 17) // UNP_VER
    body.writeUInt8(0x30, 18) // METHOD: store
    body.writeUInt16LE(rawName.length, 19)
    body.writeUInt32LE(0x20, 21) // ATTR: archive
    rawName.copy(body, 25)
    // LONG_BLOCK (0x8000): PACK_SIZE is the data after the header
    parts.push(block(0x74, 0x8000, body, data))
  }
  parts.push(block(0x7b, 0x4000, Buffer.alloc(0)))
  return Buffer.concat(parts)
}
