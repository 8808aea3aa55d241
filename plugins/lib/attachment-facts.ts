// Gathers what the attachment checks judge: every decoded file name, and
// for each archive attachment (a ZIP or JAR by content, whatever its name)
// the names inside it. Only archive attachments are decoded, and only up to
// [attachments] max_archive_bytes; the rest of the message stays as read.
import { ArchiveLimits, inspectArchive, isZip } from './archive'
import { ArchiveFinding, AttachmentFacts } from './checks/attachments'
import { MimePart, MimeScan, partBody, scanMime, ScanLimits, uuencodedFiles } from './mime/scan'

export interface GatherOptions {
  archives: boolean
  maxArchiveBytes: number
  limits: ArchiveLimits
  /** For attached messages sent base64 or quoted-printable, scanned after decoding. */
  scanLimits: ScanLimits
}

// Attached messages that are themselves encoded are decoded and scanned, to
// this depth, so files in a forwarded message cannot hide behind base64.
const MAX_ENCODED_MESSAGES = 3

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

export function gatherAttachments(raw: Buffer, scan: MimeScan, opts: GatherOptions): AttachmentFacts {
  const filenames: string[] = []
  const archives: ArchiveFinding[] = []
  const budget = { entries: opts.limits.maxEntries, bytes: opts.limits.maxTotalBytes }
  gather(raw, scan, opts, filenames, archives, budget, 0)
  return { filenames: [...new Set(filenames)], archives }
}

function gather(
  raw: Buffer, scan: MimeScan, opts: GatherOptions, filenames: string[], archives: ArchiveFinding[],
  budget: { entries: number; bytes: number }, nesting: number,
): void {
  const inspect = (label: string, data: Buffer | undefined): void => {
    if (!data || !isZip(data)) return
    const verdict = inspectArchive(data, opts.limits, budget)
    archives.push({
      attachment: label,
      entries: verdict.entries.map((e) => e.path),
      unsafe: verdict.kind === 'unsafe' ? verdict.why : undefined,
    })
  }
  for (const part of scan.parts) {
    filenames.push(...part.filenames)
    if (isEncodedMessage(part) && nesting < MAX_ENCODED_MESSAGES) {
      const inner = partBody(raw, part, opts.maxArchiveBytes)
      if (inner) gather(inner, scanMime(inner, opts.scanLimits), opts, filenames, archives, budget, nesting + 1)
      continue
    }
    if (!isLeaf(part)) continue
    const label = part.filenames[0] ?? `part ${part.path || '1'}`
    if (opts.archives && mayBeZip(raw, part)) {
      // into the shared buffer: inspect() is done with it before anything else decodes
      const data = partBody(raw, part, opts.maxArchiveBytes, scratchOf)
      if (data) inspect(label, data)
      else archives.push({ attachment: label, entries: [], unsafe: `larger than ${opts.maxArchiveBytes} bytes decoded` })
    }
    // The scan already named uuencoded files ("begin 644 name"); their
    // data is decoded only to look inside archives.
    if (opts.archives && part.contentType.startsWith('text/') && part.filenames.length) {
      for (const f of uuencodedFiles(raw, part, opts.maxArchiveBytes)) inspect(f.name, f.data)
    }
  }
}

function isEncodedMessage(part: MimePart): boolean {
  return (part.contentType === 'message/rfc822' || part.contentType === 'message/global') &&
    (part.encoding === 'base64' || part.encoding === 'quoted-printable')
}
