// ISO 9660 images (ECMA-119), read for every directory tree a system may
// show: the primary volume descriptor's tree (what a reader without
// extensions shows), each Joliet supplementary tree (UCS-2BE names, what
// Windows shows) and the Rock Ridge names in the primary tree's System Use
// areas (IEEE P1282 over SUSP P1281, what Linux shows). A sender can put the
// program in one tree and innocent names in the others, and 7-Zip lists
// only one tree, so the directories are read here; only names, sizes and
// where each file's bytes lie, never file data.
//
// Where readers differ on a malformed image, the reading that shows more is
// taken (Linux's isofs is the lenient one, and followed in its details):
// a record that crosses a sector, or the end of its directory's extent, is
// read as Linux reads it; a record that no reader can parse skips to the
// next sector instead of ending the directory; a name two systems show
// differently (primary "A.PDF;EXE": "A.PDF" on Windows, "a.pdf.exe" on
// Linux) gives one entry per reading.
//
// Bounded and linear: the map of 512-byte units read stops a directory
// that reaches bytes another directory of the same kind of tree read (a
// directory pointing at itself, its parent or anywhere already read), so
// each tree reads each byte at most once; continuation areas are followed
// at most 32 times per record, each within one block, and within a budget
// of the image's size in all.
import { ScanDeadlineError } from '../../mime/deadline'
import type { Ticker } from '../../mime/types'

export interface IsoEntry {
  path: string
  dir: boolean
  size: number
  /** byte offset of the file's data in the image ((extent + extended attribute record length) * block size) */
  offset: number
  tree: 'primary' | 'joliet' | 'rockridge'
}

export interface IsoListing {
  entries: IsoEntry[]
  unsafe?: string
}

type Tree = IsoEntry['tree']

// ECMA-119 6.1.2 and 8: descriptors and directory records lie in sectors of 2048 bytes, the descriptors from sector 16.
const SECTOR = 2048
const DESCRIPTORS_AT = 16 * SECTOR
// Linux looks at this many sectors for the descriptors.
const MAX_DESCRIPTORS = 100
// The smallest logical block (6.2.2): the grain of the map of bytes read.
const UNIT = 512
const MAX_DEPTH = 64
// 9.1: a record's fixed part; the file identifier starts at byte 33.
const RECORD_FIXED = 33
const FLAG_DIRECTORY = 0x02
const FLAG_MULTI_EXTENT = 0x80
// Linux's RR_MAX_CE_ENTRIES, and the length at which it stops adding NM parts.
const MAX_CONTINUATIONS = 32
const RR_NAME_MAX = 254
const CONTINUATION_SLACK = 64 * 1024

/** True when data holds an ISO 9660 volume descriptor ("CD001" at 0x8001). */
export function isIso9660(data: Buffer): boolean {
  return data.length >= DESCRIPTORS_AT + 6 && data.toString('latin1', DESCRIPTORS_AT + 1, DESCRIPTORS_AT + 6) === 'CD001'
}

/** A directory record (9.1) as its fields declare it. */
interface DirRecord {
  /** where the data starts: (extent + extended attribute record length) * block size, as Linux reads it */
  start: number
  size: number
  flags: number
  /** where the file identifier lies, and its length (read only when named: a subarray per record costs more than the rest) */
  idAt: number
  idLength: number
  /** the System Use area (9.1.13) */
  suStart: number
  suEnd: number
}

/** The record at `at`, or undefined when its lengths do not hold together. The caller has checked that its length byte's bytes lie in data. */
function readRecord(data: Buffer, at: number, blockSize: number): DirRecord | undefined {
  const length = data[at]
  const idLength = at + RECORD_FIXED <= data.length ? data[at + 32] : 0
  if (length < RECORD_FIXED + 1 || at + length > data.length || idLength === 0 || RECORD_FIXED + idLength > length) return undefined
  const idEnd = at + RECORD_FIXED + idLength
  return {
    start: (data.readUInt32LE(at + 2) + data[at + 1]) * blockSize,
    size: data.readUInt32LE(at + 10),
    flags: data[at + 25],
    idAt: at + RECORD_FIXED,
    idLength,
    // 9.1.12: a padding byte after an identifier of even length
    suStart: Math.min(idEnd + (idLength % 2 === 0 ? 1 : 0), at + length),
    suEnd: at + length,
  }
}

const cutAtNul = (s: string): string => {
  const nul = s.indexOf('\0')
  return nul < 0 ? s : s.slice(0, nul)
}

/** s without the trailing characters in `chars`, keeping at least `keep` of them (a loop: a regular expression would backtrack). */
function trimEnd(s: string, chars: string, keep = 0): string {
  let n = s.length
  while (n > keep && chars.includes(s[n - 1])) n--
  return s.slice(0, n)
}

const idOf = (data: Buffer, rec: DirRecord): Buffer => data.subarray(rec.idAt, rec.idAt + rec.idLength)

/** Whether two records have the same identifier, byte by byte. */
function sameId(data: Buffer, a: DirRecord, b: DirRecord): boolean {
  if (a.idLength !== b.idLength) return false
  for (let i = 0; i < a.idLength; i++) if (data[a.idAt + i] !== data[b.idAt + i]) return false
  return true
}

/** Windows drops the version from the first ";" (7.5.1) and ignores trailing dots and spaces. */
function windowsName(s: string): string {
  const semi = s.indexOf(';')
  return trimEnd(semi < 0 ? s : s.slice(0, semi), '. ')
}

/** The different names of one identifier, the first used for the path below a directory. */
function readings(...names: string[]): string[] {
  const out: string[] = []
  for (const n of names) if (n !== '' && !out.includes(n)) out.push(n)
  return out
}

/** A primary (or 8-bit supplementary) identifier as Windows and as Linux's isofs_name_translate show it (case aside). */
function primaryNames(id: Buffer): string[] {
  const s = cutAtNul(id.toString('latin1'))
  let linux = s
  if (linux.endsWith('.;1')) linux = linux.slice(0, -3)
  else if (linux.endsWith(';1')) linux = linux.slice(0, -2)
  linux = linux.replace(/[;/]/g, '.')
  return readings(windowsName(s), linux)
}

/** A Joliet identifier, UCS-2BE (surrogates kept as they come), as Windows and as Linux's get_joliet_filename show it. */
function jolietNames(id: Buffer): string[] {
  const le = Buffer.from(id.subarray(0, id.length & ~1))
  const s = cutAtNul(le.swap16().toString('utf16le'))
  const linux = trimEnd(s.endsWith(';1') ? s.slice(0, -2) : s, '.', 1)
  return readings(windowsName(s), linux)
}

/** What a record's entry in a tree is: its names, and where its data lies. */
interface Named {
  names: string[]
  dir: boolean
  start: number
  size: number
  /** Rock Ridge RE: a relocated directory, shown where its CL record points */
  relocated?: boolean
}

interface Pending {
  path: string
  start: number
  size: number
  depth: number
}

/** One walk of one tree: its kind, block size and the map of units read by trees of its kind. */
interface TreeWalk {
  tree: Tree
  blockSize: number
  read: Uint8Array
  name(rec: DirRecord): Named
  /** Rock Ridge: relocated directories met, walked at the end unless a CL record led to them */
  deferred: Pending[]
}

class Listing {
  readonly entries: IsoEntry[] = []
  unsafe?: string
  /** bytes of Rock Ridge continuation areas still to be read */
  continuationBytes: number

  constructor(readonly data: Buffer, readonly max: number, readonly deadline?: Ticker) {
    this.continuationBytes = data.length + CONTINUATION_SLACK
  }

  fail(why: string): void {
    this.unsafe ??= why
  }

  /** Adds an entry; false when the cap is reached. */
  add(entry: IsoEntry): boolean {
    if (this.entries.length >= this.max) {
      this.fail(`more than ${this.max} entries`)
      return false
    }
    this.entries.push(entry)
    return true
  }

  get full(): boolean {
    return this.entries.length >= this.max && this.unsafe !== undefined
  }
}

/**
 * Every tree's files: primary (names without ";1"), Joliet (each SVD with a
 * Joliet escape sequence %/@ %/C %/E), Rock Ridge NM names (SUSP,
 * continuation areas CE followed within bounds). At most maxEntries entries
 * in all. Never throws (except ScanDeadlineError from ../../mime/deadline
 * passed through).
 */
export function listIso9660(data: Buffer, maxEntries: number, deadline?: Ticker): IsoListing {
  const listing = new Listing(data, Math.max(0, maxEntries), deadline)
  try {
    listVolumes(listing)
  } catch (err) {
    if (err instanceof ScanDeadlineError) throw err
    // Every read is bounds-checked first; this keeps the promise should one not be.
    listing.fail(`unreadable image (${err instanceof Error ? err.message : String(err)})`)
  }
  return listing.unsafe === undefined ? { entries: listing.entries } : { entries: listing.entries, unsafe: listing.unsafe }
}

interface Volume {
  tree: 'primary' | 'joliet'
  primaryDescriptor: boolean
  blockSize: number
  root: DirRecord
}

/** The volume descriptors (8) from sector 16 to the terminator. */
function volumes(listing: Listing): Volume[] {
  const { data } = listing
  const found: Volume[] = []
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const at = DESCRIPTORS_AT + i * SECTOR
    if (at + SECTOR > data.length) {
      listing.fail('the volume descriptors run past the end of the image')
      break
    }
    if (data.toString('latin1', at + 1, at + 6) !== 'CD001') continue
    const type = data[at]
    if (type === 255) break
    if (type !== 1 && type !== 2) continue
    // 8.4.12: 512, 1024 or 2048. Linux takes a smaller size as declared;
    // readers that do not look at it take 2048: a smaller one is read both ways.
    const declared = data.readUInt16LE(at + 128)
    const sizes = declared === 512 || declared === 1024 ? [declared, SECTOR] : [SECTOR]
    const escape = data.subarray(at + 88, at + 91)
    const joliet = type === 2 && escape[0] === 0x25 && escape[1] === 0x2f && (escape[2] === 0x40 || escape[2] === 0x43 || escape[2] === 0x45)
    for (const blockSize of sizes) {
      // 8.4.18: the root's record, 34 bytes at 156, inside the descriptor.
      const root = data[at + 156] <= SECTOR - 156 ? readRecord(data, at + 156, blockSize) : undefined
      if (root && root.size > 0) found.push({ tree: joliet ? 'joliet' : 'primary', primaryDescriptor: type === 1, blockSize, root })
    }
  }
  return found
}

function listVolumes(listing: Listing): void {
  const { data } = listing
  if (!isIso9660(data)) {
    listing.fail('no ISO 9660 volume descriptor')
    return
  }
  const all = volumes(listing)
  if (all.length === 0) {
    listing.fail('no valid root directory')
    return
  }
  const units = Math.ceil(data.length / UNIT)
  const readBy = { primary: new Uint8Array(units), joliet: new Uint8Array(units) }
  const walked = new Set<string>()
  // Primary trees first, then Joliet, then Rock Ridge: the cap, if reached, stops the later ones.
  const ordered = [...all.filter((v) => v.tree === 'primary'), ...all.filter((v) => v.tree === 'joliet')]
  for (const v of ordered) {
    const key = `${v.tree}:${v.root.start}`
    if (walked.has(key)) continue
    walked.add(key)
    const names = v.tree === 'joliet' ? jolietNames : primaryNames
    walk(listing, v.root, {
      tree: v.tree,
      blockSize: v.blockSize,
      read: readBy[v.tree],
      name: (rec) => ({ names: names(idOf(data, rec)), dir: (rec.flags & FLAG_DIRECTORY) !== 0, start: rec.start, size: rec.size }),
      deferred: [],
    })
    if (listing.full) return
  }
  const rrRead = new Uint8Array(units)
  const rrWalked = new Set<number>()
  for (const v of all) {
    if (!v.primaryDescriptor || rrWalked.has(v.root.start)) continue
    rrWalked.add(v.root.start)
    rockRidge(listing, v, rrRead)
    if (listing.full) return
  }
}

/** A tree from its root record: each directory's records in order, directories below after their parent. */
function walk(listing: Listing, root: DirRecord, w: TreeWalk): void {
  const stack: Pending[] = [{ path: '', start: root.start, size: root.size, depth: 0 }]
  const next = (): void => {
    while (stack.length > 0 && !listing.full) {
      const dir = stack.pop()
      if (dir) readDirectory(listing, w, dir, stack)
    }
  }
  next()
  for (const moved of w.deferred) {
    if (listing.full) return
    if (w.read[Math.floor(moved.start / UNIT)]) continue
    if (!listing.add({ path: moved.path, dir: true, size: moved.size, offset: moved.start, tree: w.tree })) return
    stack.push(moved)
    next()
  }
}

/** The records of one directory; its subdirectories are pushed on `stack`. */
function readDirectory(listing: Listing, w: TreeWalk, dir: Pending, stack: Pending[]): void {
  const { data } = listing
  listing.deadline?.check()
  if (dir.size === 0) return
  if (dir.start >= data.length) {
    listing.fail(`directory ${dir.path || '/'} lies past the end of the image`)
    return
  }
  const firstUnit = Math.floor(dir.start / UNIT)
  if (w.read[firstUnit]) return
  const end = dir.start + dir.size
  if (end > data.length) listing.fail(`directory ${dir.path || '/'} runs past the end of the image`)
  const last = Math.min(end, data.length)
  let marked = firstUnit - 1
  /** Marks the units of [from, to) read by this directory; false when another directory read one first. */
  const mark = (from: number, to: number): boolean => {
    for (let u = Math.max(marked + 1, Math.floor(from / UNIT)); u <= Math.floor((to - 1) / UNIT); u++) {
      if (w.read[u]) return false
      w.read[u] = 1
      marked = u
    }
    return true
  }
  const children: Pending[] = []
  let multi: { rec: DirRecord; entries: IsoEntry[] } | undefined
  let pos = dir.start
  while (pos < last) {
    listing.deadline?.tick()
    const length = data[pos]
    // 6.8.1.1: a zero length ends the records of this sector; the next one starts at the next sector.
    const nextSector = dir.start + (Math.floor((pos - dir.start) / SECTOR) + 1) * SECTOR
    if (length === 0) {
      pos = nextSector
      continue
    }
    if (pos + length > data.length) {
      listing.fail(`a record of directory ${dir.path || '/'} runs past the end of the image`)
      break
    }
    if (!mark(pos, pos + length)) break
    // "." and ".." (9.1.11: identifiers 00 and 01) name nothing: passed before any object is made
    if (length > RECORD_FIXED && data[pos + 32] === 1 && data[pos + RECORD_FIXED] <= 1) {
      pos += length
      continue
    }
    const rec = readRecord(data, pos, w.blockSize)
    if (!rec) {
      // Readers stop the directory here; the next sector may hold records some reader finds.
      pos = nextSector
      continue
    }
    pos += length
    if (multi && sameId(data, multi.rec, rec)) {
      // 9.1.6 bit 7: further sections of one file, one entry for all.
      for (const e of multi.entries) e.size += rec.size
      checkData(listing, rec)
      if ((rec.flags & FLAG_MULTI_EXTENT) === 0) multi = undefined
      continue
    }
    multi = undefined
    const named = w.name(rec)
    const child: Pending = { path: '', start: named.start, size: named.size, depth: dir.depth + 1 }
    const names = named.names.length > 0 ? named.names : [data.toString('latin1', rec.idAt, rec.idAt + rec.idLength)]
    child.path = `${dir.path === '' ? '' : `${dir.path}/`}${names[0]}`
    if (named.relocated) {
      w.deferred.push(child)
      continue
    }
    const added: IsoEntry[] = []
    for (const name of names) {
      const entry: IsoEntry = { path: `${dir.path === '' ? '' : `${dir.path}/`}${name}`, dir: named.dir, size: named.size, offset: named.start, tree: w.tree }
      if (!listing.add(entry)) return
      added.push(entry)
    }
    if (!named.dir) checkData(listing, rec)
    if ((rec.flags & FLAG_MULTI_EXTENT) !== 0) multi = { rec, entries: added }
    if (named.dir) {
      if (child.depth > MAX_DEPTH) listing.fail(`directories nested deeper than ${MAX_DEPTH}`)
      else children.push(child)
    }
  }
  // Reversed onto the stack so that they are read in the order they appear.
  for (let i = children.length - 1; i >= 0; i--) stack.push(children[i])
}

/** A file whose bytes are not all in the image: a truncated image, or a size no reader can serve. */
function checkData(listing: Listing, rec: DirRecord): void {
  if (rec.size > 0 && rec.start + rec.size > listing.data.length) listing.fail('a file runs past the end of the image')
}

/** What a record's System Use entries say, as Linux's rock.c reads them. */
interface SuspFacts {
  name?: string
  childLink?: number
  relocated: boolean
  rockRidge: boolean
}

const sig = (a: string): number => (a.charCodeAt(0) << 8) | a.charCodeAt(1)
const SIG_CE = sig('CE')
const SIG_NM = sig('NM')
const SIG_CL = sig('CL')
const SIG_RE = sig('RE')
const SIG_SP = sig('SP')
const ROCK_RIDGE_SIGS = new Set(['RR', 'PX', 'PN', 'SL', 'NM', 'CL', 'PL', 'RE', 'TF', 'SF', 'ZF'].map(sig))

/**
 * The System Use entries (SUSP 5.1) of one record from `start` to `end`,
 * then its continuation areas (CE, 5.1): each within one block and in the
 * image, at most MAX_CONTINUATIONS, within the listing's byte budget. NM
 * parts joined as Linux joins them: "." and ".." flags and unknown flags
 * skipped, each part cut at a NUL, no part added past 254 bytes.
 */
function systemUse(listing: Listing, blockSize: number, start: number, end: number): SuspFacts {
  const { data } = listing
  const facts: SuspFacts = { relocated: false, rockRidge: false }
  const parts: Buffer[] = []
  let nameLength = 0
  let truncated = false
  let continuations = 0
  for (;;) {
    let ce: { block: number; offset: number; length: number } | undefined
    let p = start
    while (end - p > 2) {
      const len = data[p + 2]
      if (len < 3 || p + len > end) break
      const s = (data[p] << 8) | data[p + 1]
      if (ROCK_RIDGE_SIGS.has(s)) facts.rockRidge = true
      if (s === SIG_CE && len >= 28) ce = { block: data.readUInt32LE(p + 4), offset: data.readUInt32LE(p + 12), length: data.readUInt32LE(p + 20) }
      else if (s === SIG_NM && len >= 5 && !truncated) {
        const flags = data[p + 4]
        // flags 2 and 4 are "." and ".."; others Linux does not support
        if ((flags & ~1) === 0) {
          if (nameLength + len - 5 >= RR_NAME_MAX) truncated = true
          else {
            const part = data.subarray(p + 5, p + len)
            const nul = part.indexOf(0)
            const kept = nul < 0 ? part : part.subarray(0, nul)
            parts.push(kept)
            nameLength += kept.length
          }
        }
      } else if (s === SIG_CL && len >= 12) facts.childLink = data.readUInt32LE(p + 4)
      else if (s === SIG_RE) facts.relocated = true
      p += len
    }
    if (!ce || ce.block === 0) break
    if (ce.offset >= blockSize || ce.length > blockSize || ce.offset + ce.length > blockSize) break
    if (++continuations >= MAX_CONTINUATIONS) break
    listing.deadline?.tick()
    start = ce.block * blockSize + ce.offset
    end = start + ce.length
    if (end > data.length) {
      listing.fail('a Rock Ridge continuation area lies past the end of the image')
      break
    }
    listing.continuationBytes -= ce.length
    if (listing.continuationBytes < 0) {
      listing.fail('Rock Ridge continuation areas add up to more than the image')
      break
    }
  }
  if (parts.length > 0) {
    const name = Buffer.concat(parts).toString('utf8')
    if (name !== '') facts.name = name
  }
  return facts
}

/** The Rock Ridge tree over a primary volume's records: NM names, CL links followed, RE directories where their link puts them. */
function rockRidge(listing: Listing, v: Volume, read: Uint8Array): void {
  const { data } = listing
  const bs = v.blockSize
  // SUSP 5.3: SP in the root's "." record gives the bytes to skip in every other System Use area.
  let skip = 0
  let seen = false
  const dot = v.root.start < data.length ? readRecord(data, v.root.start, bs) : undefined
  if (dot && dot.suStart + 7 <= dot.suEnd && ((data[dot.suStart] << 8) | data[dot.suStart + 1]) === SIG_SP && data[dot.suStart + 4] === 0xbe && data[dot.suStart + 5] === 0xef) {
    skip = data[dot.suStart + 6]
    seen = true
  }
  const before = listing.entries.length
  const unsafeBefore = listing.unsafe
  walk(listing, v.root, {
    tree: 'rockridge',
    blockSize: bs,
    read,
    name: (rec) => {
      const facts = systemUse(listing, bs, Math.min(rec.suStart + skip, rec.suEnd), rec.suEnd)
      if (facts.rockRidge) seen = true
      const named: Named = { names: facts.name !== undefined ? [facts.name] : primaryNames(idOf(data, rec)), dir: (rec.flags & FLAG_DIRECTORY) !== 0, start: rec.start, size: rec.size }
      if (facts.childLink !== undefined) {
        // RRIP 4.1.5.1: the directory moved away; its "." record gives its size.
        named.dir = true
        named.start = facts.childLink * bs
        const target = named.start < data.length ? readRecord(data, named.start, bs) : undefined
        named.size = target ? target.size : 0
        if (!target) listing.fail('a Rock Ridge child link points at no directory')
      } else if (facts.relocated && named.dir) named.relocated = true
      return named
    },
    deferred: [],
  })
  // Without any Rock Ridge entry the walk only repeated the primary tree.
  if (!seen) {
    listing.entries.length = before
    listing.unsafe = unsafeBefore
  }
}
