// One member's bytes: where its data really is, checked against the local
// header, and a nested archive inflated within its declared size. Offsets and
// sizes come from the archive, so each is checked against the buffer first.
import * as zlib from 'node:zlib'

const LOCAL_SIG = 0x04034b50 // APPNOTE 4.3.7

/** What the central directory says about one member. */
export interface MemberHeader {
  offset: number
  compressedSize: number
  size: number
  method: number
  crc: number
}

/**
 * The member's compressed bytes, found through its local header (APPNOTE
 * 4.3.7), or why they cannot be: outside the buffer, no local header there,
 * or a local header naming another file (an extractor reading local headers
 * would see that other name).
 */
export function memberBytes(zip: Buffer, header: MemberHeader, rawName: Buffer): Buffer | string {
  const at = header.offset
  if (at + 30 > zip.length) return 'local header outside the archive'
  if (zip.readUInt32LE(at) !== LOCAL_SIG) return 'no local header where the directory points'
  const nameLength = zip.readUInt16LE(at + 26)
  const start = at + 30 + nameLength + zip.readUInt16LE(at + 28)
  if (start > zip.length) return 'local header runs past the end of the archive'
  if (!zip.subarray(at + 30, at + 30 + nameLength).equals(rawName)) {
    return 'local header names another file than the directory'
  }
  const end = start + header.compressedSize
  if (end > zip.length) return 'member data runs past the end of the archive'
  return zip.subarray(start, end)
}

/**
 * A nested archive's bytes, inflated: never more than declared + 1 bytes
 * (zlib stops there), and exactly the declared size and CRC-32, else the
 * directory lied or the data is corrupt and the reason is returned.
 */
export function inflateMember(header: MemberHeader, stored: Buffer): Buffer | string {
  const declared = header.size
  let data: Buffer
  if (header.method === 0) {
    if (stored.length !== declared) return `stored ${stored.length} bytes but declares ${declared}`
    data = stored
  } else if (header.method === 8) {
    try {
      // One output chunk of the declared size (within the caps already) is
      // returned as is; smaller chunks would be joined, doubling the peak.
      const room = Math.max(64, declared + 1)
      data = zlib.inflateRawSync(stored, { maxOutputLength: declared + 1, chunkSize: room })
    } catch (err) {
      const overrun = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
      return overrun ? `inflates past its declared ${declared} bytes` : 'corrupt deflate data'
    }
    if (data.length !== declared) return `inflates to ${data.length} bytes but declares ${declared}`
  } else {
    return `compression method ${header.method}, which is not read here`
  }
  if (zlib.crc32(data) !== header.crc) return 'CRC-32 mismatch'
  return data
}
