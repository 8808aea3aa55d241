// Which archive formats a file is, by its bytes alone (never by its name or
// declared type): the signatures each format's own specification puts at a
// fixed place. A disk image may be two at once (ISO 9660 and UDF bridge
// images): both are read, as Windows reads UDF and other systems ISO 9660.
import { isZip } from '../zip/archive'

export type ArchiveKind = 'zip' | 'rar' | '7z' | 'gzip' | 'cab' | 'tar' | 'iso' | 'udf'

const RAR4 = Buffer.from('Rar!\x1a\x07\x00', 'latin1')
const RAR5 = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1')
const SEVEN_ZIP = Buffer.from('377abcaf271c', 'hex')
// RFC 1952 2.3.1: ID1 ID2 and CM 8 (deflate), the only method defined.
const GZIP = Buffer.from('1f8b08', 'hex')
// [MS-CAB] 2.1: "MSCF" then reserved1, four zero bytes.
const CAB = Buffer.from('MSCF\0\0\0\0', 'latin1')
// POSIX ustar (and GNU's "ustar  ") magic at offset 257.
const USTAR = Buffer.from('ustar', 'latin1')
const TAR_MAGIC_AT = 257
// ECMA-119 8.1 and ECMA-167 2/9.1: volume descriptors from sector 16 of 2048 bytes; the identifier at byte 1 of each.
const SECTOR = 2048
const DESCRIPTORS_AT = 16 * SECTOR
/** Volume descriptor sectors looked at for the identifiers: ISO 9660's own, then UDF's recognition sequence after them. */
const DESCRIPTORS_READ = 32
const CD001 = Buffer.from('CD001', 'latin1')
const UDF_IDS = ['NSR02', 'NSR03'].map((s) => Buffer.from(s, 'latin1'))

/** Bytes a caller must have to tell every kind (the image descriptors sit at 32 KB and after). */
export const DETECT_BYTES = DESCRIPTORS_AT + DESCRIPTORS_READ * SECTOR

/** Bytes at the start that tell the kinds not stored in descriptors further in. */
export const HEAD_BYTES = 512

function at(data: Buffer, offset: number, sig: Buffer): boolean {
  return data.length >= offset + sig.length && data.compare(sig, 0, sig.length, offset, offset + sig.length) === 0
}

/**
 * Whether the first HEAD_BYTES may start a disk image: an image keeps its
 * first 32 KB for the system (zeros, or a boot record ending 55 AA), so only
 * then are the descriptors further in worth decoding.
 */
export function mayBeImage(head: Buffer): boolean {
  const n = Math.min(head.length, HEAD_BYTES)
  if (n >= 512 && head[510] === 0x55 && head[511] === 0xaa) return true
  for (let i = 0; i < n; i++) if (head[i] !== 0) return false
  return n > 0
}

/** The kinds data is, in the order they are read; empty when none. */
export function archiveKinds(data: Buffer): ArchiveKind[] {
  const kinds: ArchiveKind[] = []
  if (isZip(data)) kinds.push('zip')
  else if (at(data, 0, RAR4) || at(data, 0, RAR5)) kinds.push('rar')
  else if (at(data, 0, SEVEN_ZIP)) kinds.push('7z')
  else if (at(data, 0, GZIP)) kinds.push('gzip')
  else if (at(data, 0, CAB)) kinds.push('cab')
  else if (at(data, TAR_MAGIC_AT, USTAR)) kinds.push('tar')
  if (kinds.length || data.length < DESCRIPTORS_AT + 6) return kinds
  let iso = false
  let udf = false
  for (let s = 0; s < DESCRIPTORS_READ; s++) {
    const off = DESCRIPTORS_AT + s * SECTOR + 1
    if (off + 5 > data.length) break
    if (at(data, off, CD001)) iso = true
    else if (UDF_IDS.some((id) => at(data, off, id))) udf = true
  }
  if (iso) kinds.push('iso')
  if (udf) kinds.push('udf')
  return kinds
}
