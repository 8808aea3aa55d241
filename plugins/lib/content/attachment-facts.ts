// Gathers what the attachment checks judge: every decoded file name, and
// for each archive attachment (a ZIP or JAR by content, whatever its name)
// the names inside it. Parts a client offers as files are decoded, up to
// [attachments] max_archive_bytes, and a zip is looked for in them: at the
// start it is read whole (and may be unsafe); further in (a prefix before
// it, as self-extracting archives have) it is judged by its entries' names.
// A message that shows signs that parsers could read it differently is
// then read every other way too (readings/), judged by names alone.
import { ArchiveLimits } from './zip/archive'
import { archiveKinds, DETECT_BYTES, HEAD_BYTES, mayBeImage } from './archive/detect'
import { inspectAny } from './archive/inspect'
import type { ArchiveReaders } from './archive/readers'
import { decodeBase64 } from '../mime/decode'
import { zipEntriesAnywhere } from './zip/local-headers'
import { bodySigns, isFileLike } from './readings/signs'
import { readDisputed } from './readings/readings'
import { base64AnyAlignment, quotedPrintableLenient } from './readings/decoders'
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
  /** The readers of archives other than ZIP; without them such an archive ends the scan with ReadersNeeded. */
  readers?: ArchiveReaders
}

export interface Gathered {
  facts: AttachmentFacts
  /** The first limit reached, in this message or in an attached one decoded. */
  limit?: ScanLimit
  /** For the log: the signs that made the scan read the message every way. */
  problems?: string[]
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

const LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1')
const DIRECTORY_END = Buffer.from('PK\x05\x06', 'latin1')
// Encoded bytes at a file's end decoded to look for a zip's end record:
// extractors find a zip behind a prefix (a self-extracting archive, junk
// before it) from that record, 22 bytes plus its comment from the end.
const TAIL_CHARS = 1400
const LF = 0x0a
// The other readings may spend this many times [attachments] max_entries:
// the same zip shows in the whole message and in its own stretch.
const READING_ENTRIES_FACTOR = 4

/** Whether the file's last bytes hold a zip's end record, at any base64 alignment. */
function endsLikeZip(raw: Buffer, part: MimePart): boolean {
  const start = Math.max(part.bodyStart, part.bodyEnd - TAIL_CHARS)
  if (part.encoding === 'base64') {
    // from a line start, where regular base64 (lines of a multiple of four) starts a quantum; other lines are a sign (readings/signs.ts) and read every way
    const lf = raw.subarray(start, part.bodyEnd).indexOf(LF)
    const from = start === part.bodyStart || lf < 0 ? start : start + lf + 1
    return base64AnyAlignment(raw, from, part.bodyEnd, 0, TAIL_CHARS).indexOf(DIRECTORY_END) >= 0
  }
  if (part.encoding === 'quoted-printable') return quotedPrintableLenient(raw, start, part.bodyEnd, TAIL_CHARS).indexOf(DIRECTORY_END) >= 0
  return raw.subarray(start, part.bodyEnd).indexOf(DIRECTORY_END) >= 0
}

function isLeaf(part: MimePart): boolean {
  return !part.isMultipart && part.contentType !== 'message/rfc822' && part.contentType !== 'message/global'
}

/** The first n bytes of a part's body decoded (fewer when the body is shorter): a few lines of it, not the whole. */
function headOf(raw: Buffer, part: MimePart, n: number): Buffer {
  const { bodyStart: s, bodyEnd: e } = part
  // 57 bytes a line of 76 characters, line breaks and a line to spare
  if (part.encoding === 'base64') return decodeBase64(raw, s, Math.min(e, s + Math.ceil(n / 57 + 2) * 80), Infinity)?.subarray(0, n) ?? Buffer.alloc(0)
  if (part.encoding === 'quoted-printable') return quotedPrintableLenient(raw, s, Math.min(e, s + 3 * n + 2 * Math.ceil(n / 25)), n)
  return raw.subarray(s, Math.min(e, s + n))
}

/**
 * Cheap look at a part's first bytes, so that only archives are decoded
 * whole: the signatures at the start, and, for a body that starts as a disk
 * image does (zeros or a boot record) and is large enough, the image's
 * descriptors 32 KB in.
 */
function mayBeArchive(raw: Buffer, part: MimePart): boolean {
  const head = headOf(raw, part, HEAD_BYTES)
  if (archiveKinds(head).length) return true
  if (!mayBeImage(head) || part.bodyEnd - part.bodyStart < DETECT_BYTES / 2) return false
  return archiveKinds(headOf(raw, part, DETECT_BYTES)).length > 0
}

export function gatherAttachments(raw: Buffer, scan: MimeScan, opts: GatherOptions): Gathered {
  const g: Gathering = {
    opts,
    filenames: [],
    archives: [],
    budget: { entries: opts.limits.maxEntries, bytes: opts.limits.maxTotalBytes },
    uuBytes: { bytes: MAX_UU_DECODED_BYTES },
    parts: opts.scanLimits.maxParts - scan.parts.length,
    readingBudget: { entries: opts.limits.maxEntries * READING_ENTRIES_FACTOR, bytes: opts.limits.maxTotalBytes },
    signs: [],
    problems: [],
  }
  gather(g, raw, scan, 0, 0)
  if (g.signs.length) g.problems.push(`read every way: ${g.signs.join('; ')}`)
  const facts = { filenames: [...new Set(g.filenames)], archives: g.archives }
  const out: Gathered = g.limit ? { facts, limit: g.limit } : { facts }
  if (g.problems.length) out.problems = g.problems
  return out
}

interface Gathering {
  opts: GatherOptions
  filenames: string[]
  archives: ArchiveFinding[]
  budget: { entries: number; bytes: number }
  uuBytes: { bytes: number }
  /** Parts left for attached messages decoded: the message's limit holds for all of them together. */
  parts: number
  /** What the other readings may still spend, all messages together. */
  readingBudget: { entries: number; bytes: number }
  /** Signs of disagreement seen, for the log. */
  signs: string[]
  problems: string[]
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
    const kinds = archiveKinds(data)
    if (!kinds.length) return
    const verdict = inspectAny(data, kinds, { limits: opts.limits, budget: g.budget, deadline: opts.deadline, readers: opts.readers })
    g.archives.push({
      attachment: label,
      entries: verdict.entries.map((e) => e.path),
      unsafe: verdict.kind === 'unsafe' && !disputed ? verdict.why : undefined,
    })
  }
  // One reading of a leaf part as an archive: decoded (into the shared
  // buffer: the readers are done with it before anything else decodes) only
  // when its first bytes say archive, or when a file's last bytes hold a
  // zip's end record (a zip behind a prefix, judged by the names in it). Too
  // large to decode is unsafe, except for a disputed reading, which is
  // judged by names alone.
  const readArchive = (reading: MimePart, disputed: boolean): void => {
    const label = reading.filenames[0] ?? `part ${reading.path || '1'}`
    const atStart = mayBeArchive(raw, reading)
    if (!atStart && !(isFileLike(reading) && endsLikeZip(raw, reading))) return
    opts.deadline?.check(reading.bodyEnd - reading.bodyStart)
    const data = partBody(raw, reading, opts.maxArchiveBytes, scratchOf)
    if (!atStart) {
      if (!data || data.indexOf(LOCAL_HEADER) < 0) return
      const found = zipEntriesAnywhere(data, opts.limits, g.budget, opts.deadline)
      if (found.names.length) g.archives.push({ attachment: label, entries: found.names, unsafe: undefined })
    } else if (data) inspect(label, data, disputed)
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
        else if (f.head && archiveKinds(f.head).length) g.archives.push({ attachment: f.name, entries: [], unsafe: `larger than ${opts.maxArchiveBytes} bytes decoded, or past ${MAX_UU_DECODED_BYTES} bytes of uuencoded files in the message` })
      }
    }
  }
  readEveryWay(g, raw, scan, reached)
}

/**
 * The other readings of raw, when its scan or its bodies show a sign that
 * parsers could disagree and no limit was reached (a message past a limit
 * is not accepted anyway).
 */
function readEveryWay(g: Gathering, raw: Buffer, scan: MimeScan, reached: (limit: ScanLimit) => void): void {
  const { opts } = g
  if (scan.limit || g.limit) return
  const signs = [...scan.signs, ...scan.problems.map((p) => p.detail), ...bodySigns(raw, scan)]
  if (!signs.length) return
  g.signs.push(...signs.slice(0, 3))
  const read = readDisputed(raw, {
    limits: opts.limits,
    budget: g.readingBudget,
    maxSegments: opts.scanLimits.maxParts,
    maxHeaderBytes: opts.scanLimits.maxHeaderBytes,
    maxBytes: opts.maxArchiveBytes,
    deadline: opts.deadline,
  })
  g.filenames.push(...read.filenames)
  // a zip the declared reading or an earlier one already listed is not listed again
  const seen = new Set(g.archives.flatMap((a) => a.entries))
  for (const a of read.archives) {
    if (a.entries.every((e) => seen.has(e))) continue
    for (const e of a.entries) seen.add(e)
    g.archives.push({ attachment: a.where, entries: a.entries, unsafe: undefined })
  }
  if (read.spent) reached({ name: 'readings', detail: `the other readings of the message used up their budget of ${read.spent}` })
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
