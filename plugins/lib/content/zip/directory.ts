// What the end records and the central directory declare, read from the
// bytes where adm-zip's reading cannot be used: adm-zip stores sizes and
// offsets through 32-bit setters (a ZIP64 size of 5 GiB reads as 1 GiB) and
// takes ZIP64 values by position, where APPNOTE 4.5.3 holds only the fields
// whose header value is 0xFFFFFFFF, in order. adm-zip still walks the
// directory; these readings check and complete it.
import { extraField } from './names'

const CENTRAL_SIG = 0x02014b50 // APPNOTE 4.3.12
const END_SIG = 0x06054b50 // 4.3.16
const ZIP64_LOCATOR_SIG = 0x07064b50 // 4.3.15
const ZIP64_END_SIG = 0x06064b50 // 4.3.14
const ZIP64_FIELD = 0x0001 // 4.5.3
const END_SIZE = 22
const MAX_COMMENT = 0xffff
const UNSET = 0xffffffff

/** Where the end records put the central directory, and its declared size. */
export interface DirectoryEnd {
  offset: number
  size: number
}

/**
 * The end record (4.3.16), or the ZIP64 record its locator points at (4.3.14,
 * 4.3.15), found as adm-zip finds it: the last end signature within a
 * comment's reach of the end. Undefined when they cannot be read.
 */
export function directoryEnd(zip: Buffer): DirectoryEnd | undefined {
  let end = -1
  for (let at = zip.length - END_SIZE; at >= Math.max(0, zip.length - END_SIZE - MAX_COMMENT); at--) {
    if (zip[at] === 0x50 && zip.readUInt32LE(at) === END_SIG) {
      end = at
      break
    }
  }
  if (end < 0) return undefined
  const locator = end - 20
  if (locator < 0 || zip.readUInt32LE(locator) !== ZIP64_LOCATOR_SIG) {
    const size = zip.readUInt32LE(end + 12)
    const offset = zip.readUInt32LE(end + 16)
    // 4.4.1.4: these values mean "see the ZIP64 record", which is missing.
    if (zip.readUInt16LE(end + 10) === 0xffff || size === UNSET || offset === UNSET) return undefined
    return { offset, size }
  }
  const record = Number(zip.readBigUInt64LE(locator + 8))
  if (record + 56 > locator || zip.readUInt32LE(record) !== ZIP64_END_SIG) return undefined
  return { offset: Number(zip.readBigUInt64LE(record + 48)), size: Number(zip.readBigUInt64LE(record + 40)) }
}

/** A member's sizes and local header offset as its central header declares them. */
export interface CentralSizes {
  size: number
  compressedSize: number
  offset: number
}

/**
 * The sizes and offset of the central directory header at `at` (4.3.12),
 * with ZIP64 values taken in 4.5.3's order; undefined unless a header for
 * `name` is there. A value left 0xFFFFFFFF without its ZIP64 field stays so,
 * and fails later checks.
 */
export function centralSizes(zip: Buffer, at: number, name: Buffer): CentralSizes | undefined {
  if (at < 0 || at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL_SIG) return undefined
  const extraStart = at + 46 + zip.readUInt16LE(at + 28)
  if (!zip.subarray(at + 46, extraStart).equals(name)) return undefined
  const field = extraField(zip.subarray(extraStart, extraStart + zip.readUInt16LE(at + 30)), ZIP64_FIELD) ?? Buffer.alloc(0)
  let next = 0
  const resolve = (value: number): number => {
    if (value !== UNSET || next + 8 > field.length) return value
    next += 8
    return Number(field.readBigUInt64LE(next - 8))
  }
  const size = resolve(zip.readUInt32LE(at + 24))
  const compressedSize = resolve(zip.readUInt32LE(at + 20))
  return { size, compressedSize, offset: resolve(zip.readUInt32LE(at + 42)) }
}
