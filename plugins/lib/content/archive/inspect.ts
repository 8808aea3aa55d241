// Any archive by its kinds (detect.ts): ZIP through zip/archive.ts, ISO 9660
// images through iso9660.ts (every directory tree), the others through the
// 7-Zip module (seven-zip.ts), listing directories and never member data.
// Nested archives are opened through the same function within the same
// caps as ZIP's: depth, entries per message, each nested archive's declared
// size and ratio, bytes inflated per message. Whatever cannot be shown safe
// is 'unsafe' with the reason, as for ZIP.
//
// Paths name each container a user opens on the way: "setup/run.exe" in
// the attachment, "disk.iso > setup/run.exe" one archive further in.
import * as zlib from 'node:zlib'
import type { Ticker } from '../../mime/types'
import { ArchiveBudget, ArchiveEntry, ArchiveLimits, ArchiveVerdict, inspectArchive } from '../zip/archive'
import { baseName, NESTED } from '../zip/names'
import { ArchiveKind, archiveKinds } from './detect'
import { listIso9660 } from './iso9660'
import type { ArchiveReaders } from './readers'
import { ReadersNeeded } from './needed'
import { extractEntry, listArchive } from './seven-zip'

export interface InspectContext {
  limits: ArchiveLimits
  budget: ArchiveBudget
  deadline?: Ticker
  readers?: ArchiveReaders
}

interface Run {
  ctx: InspectContext
  entries: ArchiveEntry[]
  /** Paths listed: a disk image gives a file once per tree, counted and listed once. */
  seen: Set<string>
  why?: string
}

// Members opened as nested archives when named so (by content only where
// reading their first bytes costs nothing: ZIP's stored members, ISO files).
export const NESTED_NAME = /\.(zip|jar|rar|7z|iso|img|udf|cab|tar|gz|tgz|taz)$/i

/** What data holds, as inspectArchive answers for a ZIP; kinds from archiveKinds(data). */
export function inspectAny(data: Buffer, kinds: readonly ArchiveKind[], ctx: InspectContext): ArchiveVerdict {
  const run: Run = { ctx, entries: [], seen: new Set() }
  open(run, data, kinds, '', 1)
  return run.why === undefined ? { kind: 'listed', entries: run.entries } : { kind: 'unsafe', why: run.why, entries: run.entries }
}

function add(run: Run, prefix: string, path: string, encrypted: boolean, depth: number): boolean {
  if (run.seen.has(prefix + path)) return true
  run.seen.add(prefix + path)
  if (run.ctx.budget.entries <= 0) {
    run.why ??= `more than ${run.ctx.limits.maxEntries} archive entries in the message`
    return false
  }
  run.ctx.budget.entries--
  const name = baseName(path)
  if (name !== '') run.entries.push({ path: prefix + path, name, encrypted, depth })
  return true
}

function open(run: Run, data: Buffer, kinds: readonly ArchiveKind[], prefix: string, depth: number): void {
  const where = prefix === '' ? '' : `${prefix.slice(0, -NESTED.length)}: `
  for (const kind of kinds) {
    run.ctx.deadline?.check()
    if (kind === 'zip') openZip(run, data, prefix, depth)
    else if (kind === 'iso') openIso(run, data, prefix, depth, where)
    else if (kind === 'gzip') openGzip(run, data, prefix, depth, where)
    else openListed(run, data, kind, prefix, depth, where)
    if (run.why !== undefined) return
  }
}

function openZip(run: Run, data: Buffer, prefix: string, depth: number): void {
  const { limits, budget, deadline } = run.ctx
  // the zip reader's own depth counts from 1: what is left of the limit here
  const verdict = inspectArchive(data, { ...limits, maxDepth: limits.maxDepth - depth + 1 }, budget, deadline, (inner, path) => {
    const kinds = archiveKinds(inner)
    if (kinds.length && kinds[0] !== 'zip') open(run, inner, kinds, `${prefix}${path}${NESTED}`, depth + 1)
  })
  for (const e of verdict.entries) run.entries.push({ ...e, path: prefix + e.path, depth: e.depth + depth - 1 })
  if (verdict.kind === 'unsafe') run.why ??= prefix ? `${prefix.slice(0, -NESTED.length)}: ${verdict.why}` : verdict.why
}

/** Why a nested archive of `size` declared bytes from `packed` must not be opened, or undefined. */
function capExceeded(run: Run, size: number | undefined, packed: number | undefined, depth: number): string | undefined {
  const { maxDepth, maxNestedBytes, maxRatio, maxTotalBytes } = run.ctx.limits
  if (depth >= maxDepth) return `nested archive deeper than ${maxDepth} levels`
  if (size === undefined) return 'nested archive of undeclared size'
  if (packed !== undefined && packed > 0 && size / packed > maxRatio) return `nested archive declares ${size} bytes from ${packed} (ratio ${(size / packed).toFixed(0)}, over ${maxRatio})`
  if (size > maxNestedBytes) return `nested archive declares ${size} bytes, over ${maxNestedBytes}`
  if (size > run.ctx.budget.bytes) return `nested archive of ${size} bytes would pass ${maxTotalBytes} inflated per message`
  return undefined
}

function openIso(run: Run, data: Buffer, prefix: string, depth: number, where: string): void {
  const listing = listIso9660(data, run.ctx.budget.entries, run.ctx.deadline)
  const seen = new Set<number>()
  for (const e of listing.entries) {
    if (e.dir) continue
    if (!add(run, prefix, e.path, false, depth)) return
    // a file's bytes lie in the image as they are: its kind costs a look, no inflating
    if (seen.has(e.offset) || e.offset + e.size > data.length) continue
    seen.add(e.offset)
    const inner = data.subarray(e.offset, e.offset + e.size)
    const kinds = archiveKinds(inner)
    if (!kinds.length) continue
    // nothing is inflated, but a nested archive is one more to read: ZIP's caps hold for it as for a stored member
    const why = capExceeded(run, e.size, e.size, depth)
    if (why !== undefined) {
      run.why ??= `${where}${e.path}: ${why}`
      return
    }
    run.ctx.budget.bytes -= e.size
    open(run, inner, kinds, `${prefix}${e.path}${NESTED}`, depth + 1)
    if (run.why !== undefined) return
  }
  if (listing.unsafe) run.why ??= `${where}${listing.unsafe}`
}

function openListed(run: Run, data: Buffer, kind: Exclude<ArchiveKind, 'zip' | 'iso' | 'gzip'>, prefix: string, depth: number, where: string): void {
  const sz = run.ctx.readers?.sevenZip
  if (!sz) throw new ReadersNeeded(`a ${kind} archive`)
  run.ctx.deadline?.check(data.length)
  const listing = listArchive(sz, data, kind, run.ctx.budget.entries)
  for (const e of listing.entries) {
    if (e.dir) continue
    if (!add(run, prefix, e.path, e.encrypted, depth)) return
  }
  if (listing.unsafe) {
    // the listing stops at what is left of the message's entries: said as the setting
    const over = run.ctx.budget.entries <= 0 || /^more than \d+ entries$/.test(listing.unsafe)
    run.why ??= `${where}${over ? `more than ${run.ctx.limits.maxEntries} archive entries in the message` : listing.unsafe}`
    return
  }
  for (const e of listing.entries) {
    if (e.dir || e.encrypted || !NESTED_NAME.test(e.path)) continue
    const why = capExceeded(run, e.size, e.packedSize, depth)
    if (why !== undefined) {
      run.why ??= `${where}${e.path}: ${why}`
      return
    }
    run.ctx.deadline?.check(e.size)
    const inner = extractEntry(sz, data, kind, e.path, e.size ?? 0)
    if (typeof inner === 'string') {
      run.why ??= `${where}${e.path}: ${inner}`
      return
    }
    run.ctx.budget.bytes -= inner.length
    const kinds = archiveKinds(inner)
    if (kinds.length) open(run, inner, kinds, `${prefix}${e.path}${NESTED}`, depth + 1)
    if (run.why !== undefined) return
  }
}

/** A gzip member: its original name (RFC 1952 FNAME) is the entry; inflated within the caps, what it holds is read too (a .tar.gz as a tar). */
function openGzip(run: Run, data: Buffer, prefix: string, depth: number, where: string): void {
  const name = gzipName(data) ?? 'the gzip member'
  if (!add(run, prefix, name, false, depth)) return
  const { maxDepth, maxNestedBytes, maxRatio } = run.ctx.limits
  if (depth >= maxDepth) return
  const cap = Math.min(maxNestedBytes, run.ctx.budget.bytes, data.length * maxRatio)
  run.ctx.deadline?.check(cap)
  let inner: Buffer
  try {
    inner = zlib.gunzipSync(data, { maxOutputLength: Math.max(1, cap) })
  } catch (err) {
    const code = (err as { code?: unknown }).code
    run.why ??= code === 'ERR_BUFFER_TOO_LARGE'
      ? `${where}${name}: inflates past ${cap} bytes (the nested size, ratio or per-message cap)`
      : `${where}${name}: corrupt or truncated gzip`
    return
  }
  run.ctx.budget.bytes -= inner.length
  const kinds = archiveKinds(inner)
  if (kinds.length) open(run, inner, kinds, `${prefix}${name}${NESTED}`, depth + 1)
}

// RFC 1952 2.3.1 flags.
const FEXTRA = 4
const FNAME = 8

/** The member's original file name (latin1, as RFC 1952 2.3.1 says), if the header carries one. */
function gzipName(data: Buffer): string | undefined {
  if (data.length < 10 || !(data[3] & FNAME)) return undefined
  let at = 10
  if (data[3] & FEXTRA) {
    if (at + 2 > data.length) return undefined
    at += 2 + data.readUInt16LE(at)
  }
  const end = data.indexOf(0, at)
  if (end < 0 || end === at) return undefined
  return data.toString('latin1', at, Math.min(end, at + 1024))
}
