// Archive attachments (G1A): the names of every file in a ZIP or JAR, read
// from the central directory with adm-zip, nested archives included, without
// inflating members. A nested archive is inflated only within the declared
// size, ratio and per-message caps. Whatever cannot be shown safe (a bomb, a
// lying directory, a truncated or corrupt archive, too many entries, nesting
// too deep) is 'unsafe' with the reason; the data check decides what that
// answers. Nothing here throws on any input, and memory stays within the caps.
import AdmZip from 'adm-zip'
import { baseName, entryNames, NESTED } from './names'
import { centralSizes, directoryEnd } from './directory'
import { inflateMember, MemberHeader, memberBytes } from './member'
import { ScanDeadlineError } from '../../mime/deadline'
import type { Ticker } from '../../mime/types'

export interface ArchiveLimits {
  /** Nested archives inspected (the attached archive is depth 1). */
  maxDepth: number
  /** Entries inspected per message, all archives together. */
  maxEntries: number
  /** A nested archive is inflated only if its declared uncompressed size is at most this. */
  maxNestedBytes: number
  /** ... and its declared ratio uncompressed / compressed is at most this. */
  maxRatio: number
  /** Total bytes inflated per message for nested archives. */
  maxTotalBytes: number
}

export interface ArchiveEntry {
  /** Through the nesting: "inner.zip/dir/x.exe". */
  path: string
  /** The entry's own name: "x.exe". */
  name: string
  encrypted: boolean
  /** Depth of the archive holding the entry (the attached archive is 1). */
  depth: number
}

export type ArchiveVerdict =
  /** Every entry's name could be read. */
  | { kind: 'listed'; entries: ArchiveEntry[] }
  /** Cannot be shown safe; the names that could be read are still listed. */
  | { kind: 'unsafe'; why: string; entries: ArchiveEntry[] }

/** What is left for one message, shared by all its archives and decremented. */
export interface ArchiveBudget {
  entries: number
  bytes: number
}

const LOCAL_SIG = 0x04034b50 // APPNOTE 4.3.7
const END_SIG = 0x06054b50 // 4.3.16
const SPLIT_SIGS = [0x08074b50, 0x30304b50] // 8.5.3, 8.5.4: "PK\x07\x08", "PK00"
const FLAG_ENCRYPTED = 0x0001 // 4.4.4 bit 0
const ARCHIVE_NAME = /\.(zip|jar)$/i
// With a reader for the other kinds (openOther): every archive name they read.
const OTHER_ARCHIVE_NAME = /\.(zip|jar|rar|7z|iso|img|udf|cab|tar|gz|tgz|taz)$/i

/**
 * True when the bytes are a ZIP (or JAR, which is a ZIP): local header
 * PK\x03\x04, or an empty archive's end record PK\x05\x06; by content, not by
 * name. A split-archive marker before the first local header (APPNOTE 8.5.3,
 * 8.5.4) counts too, so that four bytes do not hide an archive.
 */
export function isZip(data: Buffer): boolean {
  if (data.length < 4) return false
  const sig = data.readUInt32LE(0)
  if (sig === LOCAL_SIG || sig === END_SIG) return true
  return SPLIT_SIGS.includes(sig) && data.length >= 8 && data.readUInt32LE(4) === LOCAL_SIG
}

/**
 * adm-zip keys its entry table by decoded name and, on reading, adds a folder
 * for every prefix of every path: quadratic in the '/' of a name, so one 64 KB
 * name of 16000 levels costs seconds and most of a gigabyte. Hex keys hold no
 * '/', which makes that pass a no-op while duplicates are still caught byte
 * for byte. Names are decoded in archive-names by flag bit 11 instead.
 */
const RAW_KEYS = {
  efs: false,
  encode: (text: string): Buffer => Buffer.from(text, 'hex'),
  decode: (raw: Uint8Array): string => Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex'),
}

interface Inspection {
  limits: ArchiveLimits
  budget: ArchiveBudget
  entries: ArchiveEntry[]
  /** The first reason the message's archives cannot be shown safe. */
  why?: string
  deadline?: Ticker
  /** Given a nested member that is not a ZIP once inflated: an archive of another kind is read there. */
  openOther?: OpenOther
}

/** Reads an archive of another kind found inside a ZIP, at `path` (its path in the message). */
export type OpenOther = (inner: Buffer, path: string) => void

/** deadline, for a scan on Haraka's own thread: ScanDeadlineError passes through, as the scan's own. */
export function inspectArchive(data: Buffer, limits: ArchiveLimits, budget?: ArchiveBudget, deadline?: Ticker, openOther?: OpenOther): ArchiveVerdict {
  const run: Inspection = {
    limits,
    budget: budget ?? { entries: limits.maxEntries, bytes: limits.maxTotalBytes },
    entries: [],
    deadline,
    openOther,
  }
  try {
    inspect(run, data, '', 1)
  } catch (err) {
    if (err instanceof ScanDeadlineError) throw err
    // Not expected: every known failure is a reason above. Still not safe.
    run.why ??= `unreadable archive (${messageOf(err)})`
  }
  return run.why === undefined
    ? { kind: 'listed', entries: run.entries }
    : { kind: 'unsafe', why: run.why, entries: run.entries }
}

/** One archive at `depth`; `prefix` is its path in the message plus NESTED. */
function inspect(run: Inspection, data: Buffer, prefix: string, depth: number): void {
  const where = prefix === '' ? '' : `${prefix.slice(0, -NESTED.length)}: `
  run.deadline?.check()
  let members: AdmZip.IZipEntry[]
  try {
    const zip = new AdmZip(data, { decoder: RAW_KEYS })
    // Counted from the end record before any entry object is made.
    const count = zip.getEntryCount()
    if (count > run.budget.entries) {
      run.why ??= `${where}${count} entries, over the ${run.limits.maxEntries} inspected per message`
      return
    }
    members = zip.getEntries()
  } catch (err) {
    run.why ??= where + brokenReason(err)
    return
  }
  run.budget.entries -= members.length
  // The directory adm-zip walked must be the one the end records declare: an
  // end record counting fewer entries hides the rest from readers that trust it.
  const end = directoryEnd(data)
  const walked = members.reduce((sum, member) => sum + member.header.centralHeaderSize, 0)
  const mismatch = `${where}the end record does not match the central directory`
  if (end?.size !== walked) run.why ??= mismatch
  let at = end?.offset ?? -1
  for (const member of members) {
    const header = member.header
    const sizes = centralSizes(data, at, member.rawEntryName)
    if (sizes === undefined) run.why ??= mismatch
    at += header.centralHeaderSize
    const { size, compressedSize, offset } = sizes ?? header
    judge(run, data, member, { size, compressedSize, offset, method: header.method, crc: header.crc }, prefix, depth)
  }
}

/** Lists one member's names, and opens it when it is a nested archive. */
function judge(run: Inspection, zip: Buffer, member: AdmZip.IZipEntry, header: MemberHeader, prefix: string, depth: number): void {
  run.deadline?.tick()
  const flags = member.header.flags
  const names = entryNames(member.rawEntryName, flags, member.extra)
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0
  for (const name of names) {
    const own = baseName(name)
    if (own !== '') run.entries.push({ path: prefix + name, name: own, encrypted, depth })
  }
  const path = prefix + names[0]
  const bytes = memberBytes(zip, header, member.rawEntryName)
  if (typeof bytes === 'string') {
    run.why ??= `${path}: ${bytes}`
    return
  }
  // Stored data is its own first bytes, so a nested ZIP under any name shows.
  const nested = names.some((name) => (run.openOther ? OTHER_ARCHIVE_NAME : ARCHIVE_NAME).test(name)) || (header.method === 0 && isZip(bytes))
  // An encrypted archive cannot be opened without its password: its own name
  // was judged above and it stays 'listed', as any encrypted member does.
  // Refusing it would refuse every password-protected archive in ordinary
  // mail; what it holds is the virus scanner's to judge.
  if (!nested || encrypted || run.why !== undefined) return
  const why = nestedCapExceeded(run, header, depth)
  if (why !== undefined) {
    run.why = `${path}: ${why}`
    return
  }
  run.deadline?.check(header.size)
  run.budget.bytes -= header.size
  const inner = inflateMember(header, bytes)
  if (typeof inner === 'string') run.why = `${path}: ${inner}`
  // Named .zip but not a ZIP by content: an ordinary file, like an attachment.
  else if (isZip(inner)) inspect(run, inner, `${path}${NESTED}`, depth + 1)
  else run.openOther?.(inner, path)
}

/** Why a nested archive must not be inflated, by the declared sizes only. */
function nestedCapExceeded(run: Inspection, header: MemberHeader, depth: number): string | undefined {
  const { maxDepth, maxNestedBytes, maxRatio } = run.limits
  const size = header.size
  const ratio = size === 0 ? 0 : size / header.compressedSize
  if (depth >= maxDepth) return `nested archive deeper than ${maxDepth} levels`
  if (ratio > maxRatio) {
    return `nested archive declares ${size} bytes from ${header.compressedSize} (ratio ${ratio.toFixed(0)}, over ${maxRatio})`
  }
  if (size > maxNestedBytes) return `nested archive declares ${size} bytes, over ${maxNestedBytes}`
  if (size > run.budget.bytes) return `nested archive of ${size} bytes would pass ${run.limits.maxTotalBytes} inflated per message`
  return undefined
}

const BROKEN: ReadonlyArray<[RegExp, string]> = [
  [/No END header/, 'no end of central directory record (truncated, or not a ZIP)'],
  [/Invalid END header/, 'corrupt end of central directory record'],
  [/Invalid CEN header/, 'central directory truncated or corrupt'],
  [/Number of disk entries is too large/, 'end record points past the archive, or counts more entries than fit'],
  [/Duplicate entry name/, 'two entries with the same name'],
  [/Extra field parsing error/, 'corrupt extra field'],
  [/Zip64 value exceeds/, 'ZIP64 value out of range'],
]

/** adm-zip's error, said as what it means for the archive. */
function brokenReason(err: unknown): string {
  const message = messageOf(err)
  const known = BROKEN.find(([pattern]) => pattern.test(message))
  return known ? known[1] : `unreadable archive (${message.replace(/^ADM-ZIP: /, '')})`
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
