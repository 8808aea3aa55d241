// Test archives, built in memory: plain ones with adm-zip, and with a small
// ZIP writer of our own what adm-zip will not write (lying directories,
// encrypted-flag entries, ZIP64 records, CP437 names, precompressed bombs).
// Record layouts are APPNOTE.TXT's: local header 4.3.7, central directory
// header 4.3.12, ZIP64 end record and locator 4.3.14-15, end record 4.3.16.
import * as zlib from 'node:zlib'
import AdmZip from 'adm-zip'
import { CP437_HIGH, FLAG_UTF8 } from '../../plugins/lib/content/zip/names'

const MiB = 1 << 20
const GiB = 1 << 30
const EMPTY = Buffer.alloc(0)
const DOS_DATE = (1 << 5) | 1 // 1980-01-01, the earliest DOS date (4.4.6)
const UNSET = 0xffffffff // "see the ZIP64 field" (4.4.8)
const FLAG_DESCRIPTOR = 0x0008 // 4.4.4 bit 3

/** A member's data as stored: its compressed bytes and what they inflate to. */
export interface Packed {
  method: number
  bytes: Buffer
  size: number
  crc: number
}

export interface RawEntry {
  /** A string is written as UTF-8 (flag bit 11 when not ASCII); bytes as they are. */
  name: string | Buffer
  /** Content, deflated unless method is 0. */
  data?: Buffer | string
  method?: 0 | 8
  /** Content already packed (a bomb, ciphertext): written as is. */
  packed?: Packed
  /** More general purpose bits (4.4.4), such as 1 for encrypted. */
  flags?: number
  /** Extra field (4.5), in both headers. */
  extra?: Buffer
  /** ZIP64 extended information (4.5.3): all of size, compressed size, offset; or the size only; or the offset only. */
  zip64?: 'full' | 'size' | 'offset'
  /** As a streaming writer does it: flag bit 3, zeros in the local header, a data descriptor after the data (4.3.9). */
  descriptor?: boolean
  /** Central directory values that differ from what was written. */
  lie?: { size?: number; compressedSize?: number; crc?: number; offset?: number; localName?: string }
}

export interface WriteOptions {
  /** Every entry in ZIP64 form, and ZIP64 end records. */
  zip64?: boolean
  /** The end record's entry count, if not the truth. */
  count?: number
  /** The end record's central directory offset, if not the truth. */
  directoryOffset?: number
}

/** Little-endian fields appended to a buffer that grows as needed. */
class Fields {
  private buffer = Buffer.alloc(64 * 1024)
  length = 0

  private room(size: number): number {
    if (this.length + size > this.buffer.length) {
      const bigger = Buffer.alloc(Math.max(2 * this.buffer.length, this.length + size))
      this.buffer.copy(bigger, 0, 0, this.length)
      this.buffer = bigger
    }
    this.length += size
    return this.length - size
  }

  // room() may replace the buffer, so it runs before the buffer is read.
  u16(value: number): this {
    const at = this.room(2)
    this.buffer.writeUInt16LE(value, at)
    return this
  }

  u32(value: number): this {
    const at = this.room(4)
    this.buffer.writeUInt32LE(value, at)
    return this
  }

  u64(value: number): this {
    const at = this.room(8)
    this.buffer.writeBigUInt64LE(BigInt(value), at)
    return this
  }

  bytes(data: Uint8Array): this {
    const at = this.room(data.length)
    this.buffer.set(data, at)
    return this
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.length)
  }
}

/** Writes a ZIP from raw entries; the writer for what adm-zip cannot make. */
export function writeZip(entries: RawEntry[], options: WriteOptions = {}): Buffer {
  const local = new Fields()
  const central = new Fields()
  for (const entry of entries) {
    const { name, flags, packed } = member(entry)
    const zip64 = entry.zip64 ?? (options.zip64 ? 'full' : undefined)
    const wideSizes = zip64 === 'full' || zip64 === 'size'
    const version = zip64 ? 45 : 20
    const extra = entry.extra ?? EMPTY
    const lie = entry.lie ?? {}
    const localName = lie.localName === undefined ? name : Buffer.from(lie.localName)
    const offset = local.length
    // Local header (4.3.7); its ZIP64 field holds both sizes (4.5.3).
    const known = (value: number): number => (entry.descriptor ? 0 : value)
    local.u32(0x04034b50).u16(version).u16(flags).u16(packed.method).u16(0).u16(DOS_DATE).u32(known(packed.crc))
    local.u32(wideSizes ? UNSET : known(packed.bytes.length)).u32(wideSizes ? UNSET : known(packed.size))
    local.u16(localName.length).u16((wideSizes ? 20 : 0) + extra.length).bytes(localName)
    if (wideSizes) local.u16(1).u16(16).u64(known(packed.size)).u64(known(packed.bytes.length))
    local.bytes(extra).bytes(packed.bytes)
    if (entry.descriptor) local.u32(0x08074b50).u32(packed.crc).u32(packed.bytes.length).u32(packed.size)

    // Central directory header (4.3.12); its ZIP64 field holds only the
    // values set to 0xFFFFFFFF, in this order (4.5.3).
    const size = lie.size ?? packed.size
    const compressedSize = lie.compressedSize ?? packed.bytes.length
    const at = lie.offset ?? offset
    const wide = { full: [size, compressedSize, at], size: [size], offset: [at], none: [] }[zip64 ?? 'none']
    central.u32(0x02014b50).u16(0x0300 | version).u16(version).u16(flags).u16(packed.method).u16(0).u16(DOS_DATE)
    central.u32(lie.crc ?? packed.crc).u32(zip64 === 'full' ? UNSET : compressedSize).u32(wideSizes ? UNSET : size)
    central.u16(name.length).u16((wide.length > 0 ? 4 + 8 * wide.length : 0) + extra.length).u16(0).u16(0).u16(0).u32(0)
    central.u32(zip64 === 'full' || zip64 === 'offset' ? UNSET : at).bytes(name)
    if (wide.length > 0) central.u16(1).u16(8 * wide.length)
    for (const value of wide) central.u64(value)
    central.bytes(extra)
  }
  const count = options.count ?? entries.length
  const directoryOffset = options.directoryOffset ?? local.length
  const end = new Fields()
  if (options.zip64) {
    // ZIP64 end record (4.3.14), 44 bytes after its size field, and its locator (4.3.15).
    end.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(central.length).u64(directoryOffset)
    end.u32(0x07064b50).u32(0).u64(local.length + central.length).u32(1)
  }
  // End record (4.3.16).
  const entryCount = options.zip64 ? 0xffff : count
  end.u32(0x06054b50).u16(0).u16(0).u16(entryCount).u16(entryCount)
  end.u32(options.zip64 ? UNSET : central.length).u32(options.zip64 ? UNSET : directoryOffset).u16(0)
  return Buffer.concat([local.done(), central.done(), end.done()])
}

function member(entry: RawEntry): { name: Buffer; flags: number; packed: Packed } {
  const utf8 = typeof entry.name === 'string' && /[^\x20-\x7e]/.test(entry.name)
  const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name
  const flags = (entry.flags ?? 0) | (utf8 ? FLAG_UTF8 : 0) | (entry.descriptor ? FLAG_DESCRIPTOR : 0)
  return { name, flags, packed: entry.packed ?? pack(Buffer.from(entry.data ?? ''), entry.method) }
}

/** Content packed as a ZIP member: deflated unless stored or empty. */
export function pack(data: Buffer, method: number = data.length > 0 ? 8 : 0): Packed {
  return { method, bytes: method === 8 ? zlib.deflateRawSync(data) : data, size: data.length, crc: zlib.crc32(data) }
}

/** A plain ZIP written by adm-zip (UTF-8 names, flag bit 11); `store` keeps data uncompressed. */
export function zipOf(entries: Record<string, Buffer | string>, options: { store?: boolean } = {}): Buffer {
  const zip = new AdmZip({ noSort: true })
  for (const [name, data] of Object.entries(entries)) {
    const entry = zip.addFile(name, Buffer.from(data))
    if (options.store) entry.header.method = 0
  }
  return zip.toBuffer()
}

/** A program's first bytes, enough to look like one. */
export const PROGRAM = Buffer.from('MZ\x90\x00\x03\x00\x00\x00This program cannot be run in DOS mode.\r\n', 'latin1')

/**
 * `depth` archives one inside the next: the outer one holds depth2.zip, which
 * holds depth3.zip, ..., and the innermost holds `leaf`.
 */
export function nestedZip(depth: number, leaf = 'payload.exe'): Buffer {
  let zip = zipOf({ [leaf]: PROGRAM })
  for (let level = depth; level > 1; level--) zip = zipOf({ [`depth${level}.zip`]: zip })
  return zip
}

// CRC-32 of n zero bytes without reading them: appending a zero byte is a
// linear map of the CRC register over GF(2), so n bytes is that map to the
// power n, by squaring (the method of zlib's crc32_combine).
function gf2Times(matrix: number[], vector: number): number {
  let sum = 0
  for (let bit = 0; vector !== 0; bit++, vector >>>= 1) if (vector & 1) sum ^= matrix[bit]
  return sum >>> 0
}

function gf2Square(matrix: number[]): number[] {
  return matrix.map((column) => gf2Times(matrix, column))
}

export function crc32OfZeros(length: number): number {
  // One zero bit: shift right, folding in the reflected polynomial.
  let op = [0xedb88320, ...Array.from({ length: 31 }, (_, bit) => (1 << bit) >>> 0)]
  op = gf2Square(gf2Square(gf2Square(op))) // one zero byte
  let register = 0xffffffff
  for (let n = length; n > 0; n = Math.floor(n / 2), op = gf2Square(op)) {
    if (n % 2 === 1) register = gf2Times(op, register)
  }
  return (register ^ 0xffffffff) >>> 0
}

const zeroStreams = new Map<number, Packed>()

/**
 * `mebibytes` MiB of zeros, deflated, without deflating them: zlib's output
 * for one MiB of zeros after a window of zeros, cut at a sync flush (which
 * ends on a byte boundary), is the same every time, so the stream is the
 * first MiB's, that unit repeated, and an empty final block. About 1 KB per
 * MiB, like deflating it all at level 9. Cached.
 */
export function zeros(mebibytes: number): Packed {
  if (!Number.isInteger(mebibytes) || mebibytes < 1) throw new RangeError(`zeros(${mebibytes}): whole MiB, at least 1`)
  const cached = zeroStreams.get(mebibytes)
  if (cached) return cached
  const block = Buffer.alloc(MiB)
  const window = { dictionary: Buffer.alloc(32 * 1024), level: 9 }
  const first = zlib.deflateRawSync(block, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH })
  const unit = zlib.deflateRawSync(block, { ...window, finishFlush: zlib.constants.Z_SYNC_FLUSH })
  const last = zlib.deflateRawSync(EMPTY, window)
  const bytes = Buffer.concat([first, ...Array<Buffer>(mebibytes - 1).fill(unit), last])
  const packed = { method: 8, bytes, size: mebibytes * MiB, crc: crc32OfZeros(mebibytes * MiB) }
  zeroStreams.set(mebibytes, packed)
  return packed
}

/** One member of 1 GiB of zeros, deflated (about 1 MB): declared 1 GiB. */
export function bombZip(name = 'zeros.bin'): Buffer {
  return writeZip([{ name: 'readme.txt', data: 'nothing to see\n' }, { name, packed: zeros(GiB / MiB) }])
}

/**
 * A 42.zip-style nest: `levels` levels of `copies` copies of the level below;
 * the bottom archive holds `copies` files of 1 GiB of zeros each. Each level
 * is packed once and its bytes reused for every copy.
 */
export function fortyTwoZip(levels = 4, copies = 10): Buffer {
  const bomb = zeros(GiB / MiB)
  let zip = writeZip(Array.from({ length: copies }, (_, i) => ({ name: `${i}.bin`, packed: bomb })))
  for (let level = 1; level <= levels; level++) {
    const packed = pack(zip)
    zip = writeZip(Array.from({ length: copies }, (_, i) => ({ name: `${level}-${i}.zip`, packed })))
  }
  return zip
}

export const LIES = [
  'size-under', // a nested archive inflates past its declared size
  'size-over', // ... to less than its declared size
  'stored-size', // a stored nested archive declares a size other than its bytes
  'crc', // a nested archive's CRC-32 is wrong
  'count-under', // the end record counts fewer entries than the directory holds
  'count-over', // ... more
  'directory-outside', // the end record points past the end of the buffer
  'local-outside', // an entry's local header offset is past the end
  'local-name', // the local header names another file than the directory
  'data-outside', // an entry's compressed size runs past the end
] as const
export type Lie = (typeof LIES)[number]

/** An archive whose records contradict each other or the buffer, one way each. */
export function lyingZip(lie: Lie): Buffer {
  const inner = nestedZip(1)
  const readme: RawEntry = { name: 'readme.txt', data: 'hello\n' }
  const nested = (method: 0 | 8, wrong: RawEntry['lie']): RawEntry => ({ name: 'inner.zip', data: inner, method, lie: wrong })
  switch (lie) {
    case 'size-under':
      return writeZip([readme, nested(8, { size: inner.length - 10 })])
    case 'size-over':
      return writeZip([readme, nested(8, { size: inner.length + 10 })])
    case 'stored-size':
      return writeZip([readme, nested(0, { size: inner.length + 10 })])
    case 'crc':
      return writeZip([readme, nested(8, { crc: 0x12345678 })])
    case 'count-under':
      return writeZip([readme, { name: 'hidden.exe', data: PROGRAM }], { count: 1 })
    case 'count-over':
      return writeZip([readme], { count: 5 })
    case 'directory-outside':
      return writeZip([readme], { directoryOffset: 1 << 20 })
    case 'local-outside':
      return writeZip([readme, { name: 'x.txt', data: 'x', lie: { offset: 1 << 20 } }])
    case 'local-name':
      return writeZip([{ name: 'readme.txt', data: PROGRAM, lie: { localName: 'evil.exe' } }])
    case 'data-outside':
      return writeZip([readme, { name: 'x.txt', data: 'x', lie: { compressedSize: 1 << 20 } }])
  }
}

/** The first `length` bytes of an archive. */
export function truncated(zip: Buffer, length: number): Buffer {
  return Buffer.from(zip.subarray(0, length))
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function randomBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length)
  let state = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out[i] = state & 0xff
  }
  return out
}

/** Random bytes after a local header signature: a ZIP by content, and garbage. */
export function randomPk(seed: number, length = 2048): Buffer {
  const out = randomBytes(seed, length)
  out.write('PK\x03\x04', 0, 'latin1')
  return out
}

/**
 * Entries flagged encrypted (bit 0): a 12-byte encryption header and random
 * "ciphertext" (APPNOTE 6.1 layout; nothing here decrypts). Names ending .zip
 * are encrypted nested archives.
 */
export function encryptedZip(names: string[]): Buffer {
  return writeZip(
    names.map((name, i) => {
      const plain = name.endsWith('.zip') ? nestedZip(1) : PROGRAM
      const packed: Packed = { method: 8, bytes: randomBytes(i + 1, 12 + plain.length), size: plain.length, crc: zlib.crc32(plain) }
      return { name, flags: 1, packed }
    }),
  )
}

/**
 * A ZIP64 archive: ZIP64 end records and every entry's sizes and offset in
 * ZIP64 fields. Holds readme.txt, inner.zip (stored, holding payload.exe) and
 * zeros.bin, 5 GiB of zeros, more than 32-bit sizes can say. With sizeOnly,
 * a plain archive whose one huge entry carries only its size in ZIP64 form
 * (as .NET writes it).
 */
export function zip64Zip(options: { sizeOnly?: boolean } = {}): Buffer {
  const huge = zeros(5 * 1024)
  if (options.sizeOnly) return writeZip([{ name: 'readme.txt', data: 'hello\n' }, { name: 'zeros.bin', packed: huge, zip64: 'size' }])
  const inner = nestedZip(1)
  return writeZip(
    [
      { name: 'readme.txt', data: 'hello\n' },
      { name: 'inner.zip', data: inner, method: 0 },
      { name: 'zeros.bin', packed: huge },
    ],
    { zip64: true },
  )
}

/** Text as code page 437 bytes (APPNOTE appendix D); '?' for what it lacks. */
export function cp437(text: string): Buffer {
  return Buffer.from(Array.from(text, (char) => {
    const code = char.charCodeAt(0)
    if (code < 0x80) return code
    const high = CP437_HIGH.indexOf(char)
    return high < 0 ? 0x3f : 0x80 + high
  }))
}

/** Names written as CP437 bytes, flag bit 11 clear, as DOS and Windows tools write them. */
export function cp437Zip(names: string[]): Buffer {
  return writeZip(names.map((name) => ({ name: cp437(name), data: PROGRAM })))
}

/** Raw name bytes as given, flag bit 11 clear: read as CP437 whatever they are. */
export function rawNameZip(names: Buffer[]): Buffer {
  return writeZip(names.map((name) => ({ name, data: 'x' })))
}

/**
 * A JAR as java.util.jar.JarOutputStream writes it: META-INF/ first, with the
 * empty 0xCAFE extra field that marks a JAR, the manifest, then `names`.
 */
export function jarZip(names: string[] = ['com/example/Main.class']): Buffer {
  const cafe = Buffer.from([0xfe, 0xca, 0, 0])
  return writeZip([
    { name: 'META-INF/', extra: cafe },
    { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\r\nMain-Class: com.example.Main\r\n\r\n' },
    ...names.map((name) => ({ name, data: Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]) })),
  ])
}

/** Two entries of the same name, which extractors resolve differently. */
export function duplicateZip(): Buffer {
  return writeZip([
    { name: 'report.pdf', data: '%PDF-1.4\n' },
    { name: 'report.pdf', data: PROGRAM },
  ])
}

/** Info-ZIP Unicode Path field (APPNOTE 4.6.9): a second name for the same entry. */
export function unicodePathZip(headerName: string, unicodeName: string): Buffer {
  const unicode = Buffer.from(unicodeName, 'utf8')
  const extra = new Fields().u16(0x7075).u16(5 + unicode.length).bytes(Buffer.from([1])).u32(zlib.crc32(headerName)).bytes(unicode)
  return writeZip([{ name: cp437(headerName), data: PROGRAM, extra: extra.done() }])
}
