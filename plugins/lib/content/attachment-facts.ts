// Gathers what the attachment checks judge: every decoded file name, and
// for each archive attachment (a ZIP or JAR by content, whatever its name)
// the names inside it. Only archive attachments are decoded, and only up to
// [attachments] max_archive_bytes; the rest of the message stays as read.
import { ArchiveLimits, inspectArchive, isZip } from './zip/archive'
import { MimePart, MimeScan, partBody, scanMime, ScanLimit, ScanLimits, Ticker, uuencodedFiles } from '../mime/scan'

export interface ArchiveFinding {
  /** The attachment's name, or its part number. */
  attachment: string
  /** Names found inside, with their path through nested archives. */
  entries: readonly string[]
  /** Why the archive could not be shown safe, if it could not. */
  unsafe?: string
}

export interface AttachmentFacts {
  /** Every file name of every part, decoded. */
  filenames: readonly string[]
  archives: readonly ArchiveFinding[]
}

export interface GatherOptions {
  archives: boolean
  maxArchiveBytes: number
  limits: ArchiveLimits
  /** The message's scan limits: attached messages sent base64 or quoted-printable are scanned after decoding, within what is left of them. */
  scanLimits: ScanLimits
  /** Attached messages sent encoded, decoded one inside another ([scan] max_encoded_messages). */
  maxEncodedMessages: number
  deadline?: Ticker
}

export interface Gathered {
  facts: AttachmentFacts
  /** The first limit reached, in this message or in an attached one decoded. */
  limit?: ScanLimit
}

// uuencoded files decoded per message, all together: they are decoded to
// look inside archives, and their data shares nothing with the archive caps.
// An archive past it cannot be shown safe.
export const MAX_UU_DECODED_BYTES = 64 * 1024 * 1024
// An archive is read synchronously and none of its bytes outlive the
// reading (the findings are names), so one buffer, kept between messages,
// takes every attached archive's decoded bytes: a 150 KB zip then costs no
// allocation, which for mail with attachments is most of the garbage the
// checks would make. Larger than this, a buffer is not kept.
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024
let scratch = Buffer.alloc(0)

function scratchOf(size: number): Buffer {
  if (size <= scratch.length) return scratch
  const buf = Buffer.allocUnsafeSlow(size)
  if (size <= MAX_SCRATCH_BYTES) scratch = buf
  return buf
}

// "PK\x03\x04" (a local file header) and "PK\x05\x06" (an empty archive)
// as the first base64 characters.
const ZIP_BASE64 = /^(UEsDB|UEsFBg)/

function isLeaf(part: MimePart): boolean {
  return !part.isMultipart && part.contentType !== 'message/rfc822' && part.contentType !== 'message/global'
}

/** Cheap look at a part's first bytes, so only archives are decoded whole. */
function mayBeZip(raw: Buffer, part: MimePart): boolean {
  const head = raw.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + 256))
  if (part.encoding === 'base64') return ZIP_BASE64.test(head.toString('latin1').replace(/\s+/g, ''))
  if (part.encoding === 'quoted-printable') return /^PK(=03=04|=05=06)/.test(head.toString('latin1')) || isZip(head)
  return isZip(head)
}

export function gatherAttachments(raw: Buffer, scan: MimeScan, opts: GatherOptions): Gathered {
  const g: Gathering = {
    opts,
    filenames: [],
    archives: [],
    budget: { entries: opts.limits.maxEntries, bytes: opts.limits.maxTotalBytes },
    uuBytes: { bytes: MAX_UU_DECODED_BYTES },
    parts: opts.scanLimits.maxParts - scan.parts.length,
  }
  gather(g, raw, scan, 0, 0)
  const facts = { filenames: [...new Set(g.filenames)], archives: g.archives }
  return g.limit ? { facts, limit: g.limit } : { facts }
}

interface Gathering {
  opts: GatherOptions
  filenames: string[]
  archives: ArchiveFinding[]
  budget: { entries: number; bytes: number }
  uuBytes: { bytes: number }
  /** Parts left for attached messages decoded: the message's limit holds for all of them together. */
  parts: number
  limit?: ScanLimit
}

/** raw's parts, where raw is the message or an attached message `nesting` encodings deep, whose root sits at `depth`. */
function gather(g: Gathering, raw: Buffer, scan: MimeScan, nesting: number, depth: number): void {
  const { opts } = g
  const reached = (limit: ScanLimit): void => {
    g.limit ??= limit
  }
  // disputed: found only by a reading the first field does not give, so
  // judged by the names inside, never called unsafe for that reading alone
  const inspect = (label: string, data: Buffer, disputed = false): void => {
    if (!isZip(data)) return
    const verdict = inspectArchive(data, opts.limits, g.budget, opts.deadline)
    g.archives.push({
      attachment: label,
      entries: verdict.entries.map((e) => e.path),
      unsafe: verdict.kind === 'unsafe' && !disputed ? verdict.why : undefined,
    })
  }
  // One reading of a leaf part as an archive: decoded (into the shared
  // buffer: inspect() is done with it before anything else decodes) only
  // when its first bytes say zip. Too large to decode is unsafe, except for
  // a disputed reading, which is judged by names alone.
  const readArchive = (reading: MimePart, disputed: boolean): void => {
    if (!mayBeZip(raw, reading)) return
    opts.deadline?.check(reading.bodyEnd - reading.bodyStart)
    const label = reading.filenames[0] ?? `part ${reading.path || '1'}`
    const data = partBody(raw, reading, opts.maxArchiveBytes, scratchOf)
    if (data) inspect(label, data, disputed)
    else if (!disputed) g.archives.push({ attachment: label, entries: [], unsafe: `larger than ${opts.maxArchiveBytes} bytes decoded` })
  }
  for (const part of scan.parts) {
    opts.deadline?.tick()
    g.filenames.push(...part.filenames)
    if (isEncodedMessage(part)) {
      gatherEncoded(g, raw, part, nesting, depth + part.depth + 1, reached)
      continue
    }
    if (!isLeaf(part)) continue
    if (opts.archives) {
      readArchive(part, false)
      // A part that repeats Content-Transfer-Encoding with different values
      // is also read the other ways some client reads it. Ordinary mail has
      // no `encodings` and pays nothing.
      for (const encoding of part.encodings?.slice(1) ?? []) readArchive({ ...part, encoding }, true)
    }
    // The scan already named uuencoded files ("begin 644 name"); their
    // data is decoded only to look inside archives.
    if (opts.archives && part.contentType.startsWith('text/') && part.filenames.length) {
      opts.deadline?.check(part.bodyEnd - part.bodyStart)
      for (const f of uuencodedFiles(raw, part, opts.maxArchiveBytes, g.uuBytes, opts.deadline)) {
        if (f.data) inspect(f.name, f.data)
        else if (f.head && isZip(f.head)) g.archives.push({ attachment: f.name, entries: [], unsafe: `larger than ${opts.maxArchiveBytes} bytes decoded, or past ${MAX_UU_DECODED_BYTES} bytes of uuencoded files in the message` })
      }
    }
  }
}

/** An attached message sent base64 or quoted-printable, whose root sits at `depth`: decoded and scanned, within the limits. */
function gatherEncoded(g: Gathering, raw: Buffer, part: MimePart, nesting: number, depth: number, reached: (limit: ScanLimit) => void): void {
  const { opts } = g
  const where = `part ${part.path || '1'}${nesting ? ` of an attached message ${nesting} deep` : ''}`
  if (nesting >= opts.maxEncodedMessages) {
    reached({ name: 'messages', detail: `${where}: an attached message encoded inside ${nesting}, over [scan] max_encoded_messages ${opts.maxEncodedMessages}` })
    return
  }
  const maxDepth = opts.scanLimits.maxDepth - depth
  if (maxDepth < 0) {
    reached({ name: 'depth', detail: `${where}: nested deeper than ${opts.scanLimits.maxDepth}` })
    return
  }
  if (g.parts <= 0) {
    reached({ name: 'parts', detail: `${where}: more than ${opts.scanLimits.maxParts} parts` })
    return
  }
  opts.deadline?.check(part.bodyEnd - part.bodyStart)
  const inner = partBody(raw, part, opts.maxArchiveBytes)
  if (!inner) {
    reached({ name: 'messages', detail: `${where}: an attached message larger than ${opts.maxArchiveBytes} bytes decoded` })
    return
  }
  const innerScan = scanMime(inner, { ...opts.scanLimits, maxParts: g.parts, maxDepth })
  g.parts -= innerScan.parts.length
  if (innerScan.limit) reached({ name: innerScan.limit.name, detail: `${where}: ${innerScan.limit.detail}` })
  gather(g, inner, innerScan, nesting + 1, depth)
}

function isEncodedMessage(part: MimePart): boolean {
  return (part.contentType === 'message/rfc822' || part.contentType === 'message/global') &&
    (part.encoding === 'base64' || part.encoding === 'quoted-printable')
}
