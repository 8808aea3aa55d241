// The size a 7z's packed (LZMA-encoded) header unpacks to, read before 7-Zip
// sees the archive: 7-Zip decodes the whole header before listing, and in WASM
// that costs about 5 ms per MB (a 7.5 KB archive whose header unpacks to 50 MB
// of zeros takes 430 ms, 30 KB for 200 MB takes 1.1 s), on the thread that
// called it. One pass over the few bytes of the encoded header's StreamsInfo
// (7zFormat.txt in the 7-Zip sources), every count bounded by the bytes left.

const SIGNATURE = Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])
const K_END = 0x00
const K_PACK_INFO = 0x06
const K_UNPACK_INFO = 0x07
const K_SIZE = 0x09
const K_CRC = 0x0a
const K_FOLDER = 0x0b
const K_CODERS_UNPACK_SIZE = 0x0c
const K_ENCODED_HEADER = 0x17

class Malformed extends Error {}

class Reader {
  constructor(
    private readonly b: Buffer,
    public at: number,
  ) {}
  byte(): number {
    if (this.at >= this.b.length) throw new Malformed()
    return this.b[this.at++]
  }
  skip(n: number): void {
    if (n > this.b.length - this.at) throw new Malformed()
    this.at += n
  }
  /** 7zFormat.txt NUMBER: the first byte's leading 1 bits count the little-endian bytes after it. */
  number(): number {
    const first = this.byte()
    let mask = 0x80
    let value = 0
    for (let i = 0; i < 8; i++) {
      if ((first & mask) === 0) return value + (first & (mask - 1)) * 2 ** (8 * i)
      value += this.byte() * 2 ** (8 * i)
      mask >>= 1
    }
    return value
  }
  /** A count of items that each take at least one byte. */
  count(): number {
    const n = this.number()
    if (n > this.b.length - this.at) throw new Malformed()
    return n
  }
}

/**
 * The total of the unpack sizes the packed header declares (every coder's
 * output), 0 for a plain header, or 'malformed' when the start header or the
 * encoded header's StreamsInfo cannot be read.
 */
export function packedHeaderSize(data: Buffer): number | 'malformed' {
  if (data.length < 32 || !data.subarray(0, 6).equals(SIGNATURE)) return 'malformed'
  const offset = Number(data.readBigUInt64LE(12))
  const start = 32 + offset
  if (!Number.isSafeInteger(start) || start >= data.length) return 'malformed'
  try {
    const r = new Reader(data, start)
    if (r.byte() !== K_ENCODED_HEADER) return 0
    let total = 0
    for (let id = r.byte(); id !== K_END; id = r.byte()) {
      if (id === K_PACK_INFO) {
        r.number() // packPos
        const streams = r.count()
        for (let p = r.byte(); p !== K_END; p = r.byte()) {
          if (p === K_SIZE) for (let i = 0; i < streams; i++) r.number()
          else if (p === K_CRC) skipDigests(r, streams)
          else throw new Malformed()
        }
      } else if (id === K_UNPACK_INFO) {
        if (r.byte() !== K_FOLDER) throw new Malformed()
        const folders = r.count()
        if (r.byte() !== 0) throw new Malformed() // folders kept elsewhere (External)
        const outs: number[] = []
        for (let f = 0; f < folders; f++) outs.push(folderOutStreams(r))
        if (r.byte() !== K_CODERS_UNPACK_SIZE) throw new Malformed()
        for (const n of outs) for (let i = 0; i < n; i++) total += r.number()
        for (let p = r.byte(); p !== K_END; p = r.byte()) {
          if (p === K_CRC) skipDigests(r, folders)
          else throw new Malformed()
        }
      } else {
        // SubStreamsInfo has no place in an encoded header.
        throw new Malformed()
      }
    }
    return total
  } catch (e) {
    if (e instanceof Malformed) return 'malformed'
    throw e
  }
}

/** Reads one Folder; returns how many output streams its coders have. */
function folderOutStreams(r: Reader): number {
  const coders = r.count()
  let ins = 0
  let outs = 0
  for (let c = 0; c < coders; c++) {
    const flags = r.byte()
    if ((flags & 0xc0) !== 0) throw new Malformed() // reserved bits, and "alternative methods" (never written)
    r.skip(flags & 0x0f)
    if ((flags & 0x10) !== 0) {
      ins += r.count()
      outs += r.count()
    } else {
      ins++
      outs++
    }
    if ((flags & 0x20) !== 0) r.skip(r.count())
  }
  if (outs === 0) throw new Malformed()
  const bindPairs = outs - 1
  for (let i = 0; i < bindPairs; i++) {
    r.number()
    r.number()
  }
  const packed = ins - bindPairs
  if (packed < 1) throw new Malformed()
  if (packed > 1) for (let i = 0; i < packed; i++) r.number()
  return outs
}

function skipDigests(r: Reader, n: number): void {
  const all = r.byte()
  let defined = n
  if (all === 0) {
    defined = 0
    const bytes = Math.ceil(n / 8)
    for (let i = 0; i < bytes; i++) {
      let v = r.byte()
      for (; v !== 0; v &= v - 1) defined++
    }
  }
  r.skip(4 * defined)
}
