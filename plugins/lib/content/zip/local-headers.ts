// Archives found by content anywhere in decoded bytes: every ZIP local file
// header (APPNOTE 4.3.7) is read where it stands, with no central directory
// needed, as extractors that stream an archive do; where an end record
// follows, the central directory is read too, as 7-Zip and Windows read a ZIP
// behind a prefix. Only names come out: what the bytes around a header are
// cannot be shown either way (random bytes hold "PK\3\4" too), so nothing here
// calls an archive unsafe. One indexOf when there is no header; linear, within
// the message's archive budget, and never throws but for the scan's deadline.
import * as zlib from 'node:zlib'
import { baseName, entryNames, extraField, NESTED } from './names'
import { inspectArchive } from './archive'
import type { ArchiveLimits, ArchiveBudget } from './archive'
import { ScanDeadlineError } from '../../mime/deadline'
import type { Ticker } from '../../mime/types'

export interface FoundEntries {
  /** Entry paths, nested ones as "inner.zip/x.exe", in every spelling entryNames() gives; deduplicated. */
  names: string[]
  /** Offsets in the given data of the local headers read (for the log and tests). */
  offsets: number[]
}

const LOCAL = Buffer.from('PK\x03\x04', 'latin1') // APPNOTE 4.3.7
const END = Buffer.from('PK\x05\x06', 'latin1') // 4.3.16
const LOCAL_SIG = LOCAL.readUInt32LE(0)
const LOCAL_SIZE = 30
const END_SIZE = 22
const FLAG_DESCRIPTOR = 0x0008 // 4.4.4 bit 3: sizes follow the data
const ZIP64_FIELD = 0x0001 // 4.5.3
const UNSET = 0xffffffff
const ARCHIVE_NAME = /\.(zip|jar)$/i
const LONG_NAME = 1024

/**
 * Deflated members inflated per call only to look for a ZIP inside (those
 * not named .zip/.jar): none, as for the declared reading (archive.ts opens
 * deflated members only when named as archives). Inflating every member of
 * an ordinary document found by another reading would spend the budget and
 * refuse it. Each attempt on garbage costs about 60 µs in zlib whatever its
 * size, so a number above 0 must stay small.
 */
export const MAX_SNIFFED_MEMBERS = 0

/**
 * Inflations per call in all, archives by name included; one more spends
 * the entries budget, as a bound reached.
 */
export const MAX_INFLATIONS = 512

/**
 * Characters of names looked up per call, duplicates included: a nested
 * path repeats its prefix (up to 64 KB a level), so the count of entries
 * alone does not bound the work. Reaching it spends the entries budget.
 * Ordinary archives use a few per cent of it: 1000 entries of 250
 * characters, each looked up twice (local header and directory).
 */
export const MAX_NAME_CHARS = 1024 * 1024

interface Walk {
  limits: ArchiveLimits
  budget: ArchiveBudget
  deadline?: Ticker
  names: Set<string>
  offsets: number[]
  chars: number
  sniffed: number
  inflations: number
  /** Entries paid for so far. */
  charged: number
  /** The entries budget is spent: nothing more is read. */
  done: boolean
}

/** A stored member's data, where any header found is inside it. */
interface StoredRange {
  start: number
  end: number
  /** The member's path plus NESTED. */
  prefix: string
  /** Depth of the archive held (the given data is 1). */
  depth: number
}

/**
 * Entry names of every ZIP local file header found anywhere in data (APPNOTE
 * 4.3.7), nested archives included: stored ones by their headers lying inside
 * the member's data, deflated ones inflated within limits.maxNestedBytes,
 * limits.maxRatio and budget.bytes. Each new name costs one of
 * budget.entries; at 0 the reading stops with what was found, and the caller
 * decides what that means. This reading's own bounds (MAX_NAME_CHARS,
 * MAX_INFLATIONS, extra fields parsed past the data's size) set it to 0 when
 * reached, so that the caller sees one kind of limit. ScanDeadlineError
 * passes through.
 */
export function zipEntriesAnywhere(data: Buffer, limits: ArchiveLimits, budget: ArchiveBudget, deadline?: Ticker): FoundEntries {
  const first = data.indexOf(LOCAL)
  if (first < 0 || budget.entries <= 0) return { names: [], offsets: [] }
  const run: Walk = { limits, budget, deadline, names: new Set(), offsets: [], chars: 0, sniffed: 0, inflations: 0, charged: 0, done: false }
  try {
    read(run, data, first, '', 1, true)
  } catch (err) {
    if (err instanceof ScanDeadlineError) throw err
    // Not expected: every header is checked against the buffer. What was found stands.
  }
  return { names: [...run.names], offsets: run.offsets }
}

/** One buffer holding an archive at `depth` (the given data is 1); `prefix` is its path plus NESTED. */
function read(run: Walk, data: Buffer, first: number, prefix: string, depth: number, top: boolean): void {
  const before = run.charged
  const stored = walk(run, data, first, prefix, depth, top)
  readDirectory(run, data, first, { start: 0, end: data.length, prefix, depth }, stored, run.charged - before)
}

/**
 * The central directory of the last end record after the first local header,
 * from where the end record puts the archive's start (7-Zip's reading of a
 * ZIP behind a prefix), else from the first local header; its path is that
 * of the stored member it lies in. Its verdict is not kept, only the names it
 * lists. It may list as many entries as remain plus those the walk of this
 * buffer paid for, which it mostly lists again; only new names are charged.
 */
function readDirectory(run: Walk, data: Buffer, first: number, whole: StoredRange, stored: StoredRange[], walked: number): void {
  const end = data.lastIndexOf(END)
  if (end < first || end + END_SIZE > data.length || run.done) return
  const stop = Math.min(data.length, end + END_SIZE + data.readUInt16LE(end + 20))
  // Directory size and offset (4.3.16); 0xFFFFFFFF (ZIP64) makes it negative.
  const base = end - data.readUInt32LE(end + 12) - data.readUInt32LE(end + 16)
  const start = base >= first && data.readUInt32LE(base) === LOCAL_SIG ? base : first
  // Ranges are in the order found, so the last one holding start is the innermost.
  const within = stored.findLast((range) => range.start <= start && start < range.end) ?? whole
  run.deadline?.check()
  const limits = { ...run.limits, maxDepth: Math.max(1, run.limits.maxDepth - within.depth + 1) }
  const budget = { entries: run.budget.entries + walked, bytes: run.budget.bytes }
  const listed = inspectArchive(data.subarray(start, stop), limits, budget, run.deadline).entries
  run.budget.bytes = budget.bytes
  for (const entry of listed) if (!add(run, within.prefix + entry.path)) return
}

/** Every local header in data, in order; returns the stored members' ranges found. */
function walk(run: Walk, data: Buffer, first: number, prefix: string, depth: number, top: boolean): StoredRange[] {
  const found: StoredRange[] = []
  const stored: StoredRange[] = []
  let extraBytes = 0
  let at = first
  while (at >= 0 && !run.done) {
    if (at + LOCAL_SIZE > data.length) break
    const nameLength = data.readUInt16LE(at + 26)
    // Decoding a name costs about 50 ns a byte: a long one reads the clock.
    if (nameLength >= LONG_NAME) run.deadline?.check()
    else run.deadline?.tick()
    const nameEnd = at + LOCAL_SIZE + nameLength
    if (nameLength === 0 || nameEnd > data.length) {
      at = data.indexOf(LOCAL, at + 1)
      continue
    }
    while (stored.length > 0 && stored[stored.length - 1].end <= at) stored.pop()
    const outer = stored.length > 0 && stored[stored.length - 1].start <= at ? stored[stored.length - 1] : undefined
    const level = outer?.depth ?? depth
    const flags = data.readUInt16LE(at + 6)
    const method = data.readUInt16LE(at + 8)
    const extraLength = data.readUInt16LE(at + 28)
    const extra = data.subarray(nameEnd, nameEnd + extraLength)
    // The walk goes on after the name, so extra fields of false headers may
    // overlap; those of real ones do not, and fit in the data.
    extraBytes += extra.length
    if (extraBytes > data.length) {
      spent(run)
      break
    }
    const spellings = entryNames(data.subarray(at + LOCAL_SIZE, nameEnd), flags, extra)
    const path = (outer?.prefix ?? prefix) + spellings[0]
    if (top) run.offsets.push(at)
    for (const name of spellings) {
      if (baseName(name) !== '' && !add(run, (outer?.prefix ?? prefix) + name)) return found
    }
    const start = nameEnd + extraLength
    const compressed = compressedSize(data, at, flags, extra)
    if (method === 0 && compressed !== undefined) {
      // Later headers inside this member's data are its entries, at any
      // depth: they are read by the walk anyway, and cost nothing to place.
      const end = Math.min(data.length, start + compressed, outer?.end ?? Infinity)
      const range = { start, end, prefix: `${path}${NESTED}`, depth: level + 1 }
      if (start < end) {
        stored.push(range)
        found.push(range)
      }
    } else if (method === 8 && level < run.limits.maxDepth) {
      const named = spellings.some((name) => ARCHIVE_NAME.test(name))
      inflated(run, data, start, compressed, named, `${path}${NESTED}`, level + 1)
    }
    // From just after the name: a stored member's own entries lie in its data.
    at = data.indexOf(LOCAL, nameEnd)
  }
  return found
}

/**
 * The compressed size the local header declares (its ZIP64 field when the
 * header says 0xFFFFFFFF: 4.5.3 puts both sizes there, uncompressed first),
 * or undefined when a data descriptor holds it (4.4.4 bit 3, zeros here).
 */
function compressedSize(data: Buffer, at: number, flags: number, extra: Buffer): number | undefined {
  const declared = data.readUInt32LE(at + 18)
  if ((flags & FLAG_DESCRIPTOR) !== 0 && declared === 0) return undefined
  if (declared !== UNSET) return declared
  const zip64 = extraField(extra, ZIP64_FIELD)
  return zip64 !== undefined && zip64.length >= 16 ? Number(zip64.readBigUInt64LE(8)) : declared
}

/**
 * A deflated member's data inflated and read when it holds a local header:
 * one named as an archive always (up to MAX_INFLATIONS), any other with a
 * known size up to MAX_SNIFFED_MEMBERS. Without a size the data runs to the next local header.
 * Never more than the nested caps allow; an overrun or corrupt stream is
 * skipped with its work charged.
 */
function inflated(run: Walk, data: Buffer, start: number, compressed: number | undefined, named: boolean, prefix: string, depth: number): void {
  if (!named && (compressed === undefined || run.sniffed >= MAX_SNIFFED_MEMBERS)) return
  const next = compressed === undefined ? data.indexOf(LOCAL, start) : -1
  const stop = compressed !== undefined ? Math.min(data.length, start + compressed) : next >= 0 ? next : data.length
  if (start >= stop) return
  const { maxNestedBytes, maxRatio } = run.limits
  const cap = Math.min(maxNestedBytes, run.budget.bytes, (stop - start) * maxRatio)
  if (!(cap >= 1)) return
  if (++run.inflations > MAX_INFLATIONS) {
    spent(run)
    return
  }
  if (!named) run.sniffed++
  run.deadline?.check(cap)
  let inner: Buffer
  try {
    // Sync flush: a stream cut short (a truncated archive) still gives what it holds.
    const options = { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: Math.max(64, Math.min(cap, 1 << 20)) }
    inner = zlib.inflateRawSync(data.subarray(start, stop), options)
  } catch (err) {
    const overrun = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
    run.budget.bytes -= overrun ? cap : 0
    return
  }
  run.budget.bytes -= inner.length
  const first = inner.indexOf(LOCAL)
  if (first >= 0) read(run, inner, first, prefix, depth, false)
}

/**
 * Records one name; false once nothing more is to be read. A new name costs
 * one entry; every lookup costs its characters.
 */
function add(run: Walk, name: string): boolean {
  run.chars += name.length
  if (run.chars > MAX_NAME_CHARS) {
    spent(run)
    return false
  }
  if (run.names.has(name)) return true
  if (run.budget.entries <= 0) {
    run.done = true
    return false
  }
  run.budget.entries--
  run.charged++
  run.names.add(name)
  if (run.budget.entries <= 0) run.done = true
  return !run.done
}

/** A bound of this reading is reached: said as the entries budget spent, which the caller judges. */
function spent(run: Walk): void {
  run.budget.entries = 0
  run.done = true
}
