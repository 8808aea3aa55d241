// RAR 4/5, 7z, UDF, CAB, tar and gzip directories read in process by 7-Zip
// 24.09 compiled to WASM (npm 7z-wasm). Listing (`l -slt`) reads headers and
// directories, never member data: a solid 7z of 200 MB of zeros lists in about
// 10 ms. Each call writes the archive into the module's in-memory file system
// under a fixed name and removes it (and any extracted file) afterwards.
//
// Kinds: 'rar' is read as RAR 4 (-tRar) or RAR 5 (-tRar5) by the signature's
// 7th byte (7-Zip's Rar handler opens RAR 4 only), both tried when neither.
// 'udf' opens only an image with a UDF volume: a plain ISO 9660 image answers
// "Cannot open the file as [Udf] archive", and an ISO/UDF hybrid lists its UDF
// tree (its ISO 9660 tree is the ISO reader's).
//
// License: 7zz.wasm and its JavaScript glue are GNU LGPL 2.1+ with the unRAR
// restriction (node_modules/7z-wasm/License.txt, unRarLicense.txt): the RAR
// decompression code may not be used to develop a RAR (WinRAR) compatible
// archiver.
//
// What the WASM build does that matters here:
// - C++ exceptions are not caught inside it (no invoke_ wrappers): whatever
//   7-Zip throws (an encrypted header asking for a password, a failed
//   allocation, some damaged data) leaves callMain as a thrown number, with the
//   instance's stack, heap and open files left as they were. Such an instance
//   is never used again: the call answers unsafe and the handle moves to a
//   spare instance made from the same compiled code, a new spare being made in
//   the background.
// - Memory only grows: a 7z whose LZMA-packed header declares a 1.5 GB
//   dictionary takes the instance's memory from 16 MB to 1.7 GB while listing
//   (RSS grows by a few MB only, the pages being untouched, but the address
//   space stays taken). An instance whose memory passed MAX_MEMORY during a
//   call is retired the same way and the archive is unsafe.
// - callMain puts argv on the WASM stack and never takes it back (a program's
//   main runs once): about 200 bytes a call, so that after some 290 calls the
//   64 KB stack runs into static data and 7-Zip loops or traps. Each call puts
//   the stack pointer back.
// - Its exit path sets process.exitCode (to 7-Zip's exit code, 1 after a
//   throw); each call puts the previous value back.
// - Its default stdin reads the process's stdin synchronously (a password
//   prompt would block the thread): stdin is given as always at end of file.
import { readFileSync } from 'node:fs'
import factory, { type SevenZipModule } from '7z-wasm'
import { parseSlt, type SltEntry } from './slt'
import { ReadersNeeded } from './needed'
import { packedHeaderSize } from './seven-zip-header'

// The part of the WebAssembly API used here (the project's libs carry no DOM
// or worker types, where it is declared).
interface WasmModule {
  readonly compiled?: never
}
interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmInstance {
  readonly exports: Record<string, unknown>
}
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>
  Instance: new (module: WasmModule, imports: unknown) => WasmInstance
  Memory: abstract new (...args: never[]) => WasmMemory
}

// The options of the module factory used here; the package's types lack
// instantiateWasm and give stdin no way to say end of file (null).
interface FactoryOptions {
  print(line: string): void
  printErr(line: string): void
  stdin(): number | null
  instantiateWasm(imports: unknown, done: (instance: WasmInstance, module: WasmModule) => void): Record<string, unknown>
}
type Factory = (options: FactoryOptions) => Promise<SevenZipModule>
function isFactory(f: unknown): f is Factory {
  return typeof f === 'function'
}

export type ArchiveKind = '7z' | 'rar' | 'udf' | 'cab' | 'tar' | 'gzip'

/** One WASM instance of 7-Zip and what it printed during the current call. */
export interface SevenZipInstance {
  module: SevenZipModule
  memory: WasmMemory
  lines: string[]
  /** The WASM stack pointer, read and put back around each call. */
  stack: { get: () => number; set: (pointer: number) => void }
  /** Sees each printed line as it comes; may throw to stop 7-Zip. */
  watch: Watch | undefined
}

/** The loaded module, opaque to callers: the compiled code, the instance in use and a spare. */
export interface SevenZip {
  readonly code: WasmModule
  current: SevenZipInstance | undefined
  spare: SevenZipInstance | undefined
  refilling: boolean
}

export interface ListedEntry {
  /** As 7-Zip gives it, '/' separated (convert '\\' and the WASM build's separators). */
  path: string
  dir: boolean
  encrypted: boolean
  /** Declared uncompressed size, when given. */
  size?: number
  /** Declared packed size, when given (solid archives: only for the block's first file). */
  packedSize?: number
}

export interface Listing {
  entries: ListedEntry[]
  /** Why the archive cannot be shown safe (encrypted headers, cannot open, errors, truncated, more than maxEntries), or undefined. */
  unsafe?: string
}

/** What a 7z's packed header may unpack to (7-Zip decodes it all first, about 5 ms per MB). */
export const MAX_PACKED_HEADER = 4 * 1024 * 1024
/** Wasm memory an instance may have after a call; more and it is replaced. */
export const MAX_MEMORY = 256 * 1024 * 1024
// The archive's name in the module's file system. A gzip member without a
// stored name (no FNAME) is listed under 7-Zip's name for it, "archive~".
const ARCHIVE = '/archive'
const OUT = '/out'
// Standard output and errors both as lines through print, no progress; names in UTF-8.
const COMMON = ['-bso1', '-bse1', '-bsp0', '-sccUTF-8']
// 7-Zip's own format names, so that it never guesses another format.
const TYPES: Record<Exclude<ArchiveKind, 'rar'>, string> = { '7z': '7z', udf: 'Udf', cab: 'Cab', tar: 'tar', gzip: 'gzip' }
// errno of the WASM build's libc (emscripten): no space left on the device.
const ENOSPC = 51
const RAR = Buffer.from('Rar!\x1a\x07', 'latin1')

/** Loads the WASM module (once per thread; the caller keeps the handle). */
export async function loadSevenZip(): Promise<SevenZip> {
  const code = await WebAssembly.compile(readFileSync(require.resolve('7z-wasm/7zz.wasm')))
  const [current, spare] = await Promise.all([instantiate(code), instantiate(code)])
  return { code, current, spare, refilling: false }
}

async function instantiate(code: WasmModule): Promise<SevenZipInstance> {
  const lines: string[] = []
  let watch: Watch | undefined
  const print = (line: string): void => {
    if (watch === undefined || watch(line)) lines.push(line)
  }
  let memory: WasmMemory | undefined
  let stack: SevenZipInstance['stack'] | undefined
  if (!isFactory(factory)) throw new Error('7z-wasm exports no module factory')
  const module = await factory({
    print,
    printErr: print,
    stdin: () => null,
    instantiateWasm: (imports, done) => {
      const instance = new WebAssembly.Instance(code, imports)
      const exported = instance.exports.memory
      if (exported instanceof WebAssembly.Memory) memory = exported
      const get = instance.exports.emscripten_stack_get_current
      const set = instance.exports._emscripten_stack_restore
      if (typeof get === 'function' && typeof set === 'function') {
        stack = { get: () => Number(get()), set: (pointer: number) => void set(pointer) }
      }
      done(instance, code)
      return instance.exports
    },
  })
  if (memory === undefined || stack === undefined) throw new Error('7z-wasm exports no memory or stack pointer')
  const inst: SevenZipInstance = {
    module,
    memory,
    lines,
    stack,
    get watch() {
      return watch
    },
    set watch(w) {
      watch = w
    },
  }
  return inst
}

/** Resolves once an instance is ready for the next call (at once, unless both were used up), making one if none is on the way. */
export async function whenReady(sz: SevenZip): Promise<void> {
  for (let tries = 0; sz.current === undefined; tries++) {
    if (tries >= 400) throw new Error('7-Zip could not be made ready in 2 s')
    refill(sz)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Drops the instance in use (left unusable or too large) for the spare, and makes new ones. */
function retire(sz: SevenZip): void {
  sz.current = sz.spare
  sz.spare = undefined
  refill(sz)
}

/** Instantiates in the background until there is an instance in use and a spare. */
function refill(sz: SevenZip): void {
  if (sz.refilling || (sz.current !== undefined && sz.spare !== undefined)) return
  sz.refilling = true
  instantiate(sz.code).then(
    (fresh) => {
      if (sz.current === undefined) sz.current = fresh
      else sz.spare = fresh
      sz.refilling = false
      refill(sz)
    },
    () => {
      sz.refilling = false
    },
  )
}

interface Run {
  /** 7-Zip's exit code, or 'threw' when it left by an exception. */
  exit: number | 'threw'
  lines: string[]
  /** The instance's memory grew past MAX_MEMORY. */
  tooLarge: boolean
  /** What `after` returned. */
  result?: Buffer | string
}

/**
 * Sees each printed line as it comes and says whether to keep it. It cannot
 * stop 7-Zip by throwing: the module's terminal turns any exception in a
 * write into an I/O error that 7-Zip ignores, and keeps the unprinted line
 * to print again with the next one (quadratic, until memory runs out). Past
 * its cap it drops the rest of the output instead; 7-Zip has parsed the
 * headers by then, and printing them costs their length.
 */
type Watch = (line: string) => boolean

/**
 * Runs one 7-Zip command on data written to ARCHIVE, with at most outputCap
 * bytes written to files; `after` reads the file system before ARCHIVE and
 * OUT are removed. An instance that threw or grew too large is retired
 * instead. Never throws.
 */
function run(
  sz: SevenZip,
  data: Buffer,
  args: string[],
  watch?: Watch,
  outputCap?: number,
  after?: (module: SevenZipModule) => Buffer | string,
): Run | string {
  const inst = sz.current
  // the spare is still being made: the scan waits for it (never a verdict on the mail)
  if (inst === undefined) throw new ReadersNeeded('an archive while 7-Zip is being reloaded')
  const { module, lines } = inst
  const FS = module.FS
  lines.length = 0
  const write = FS.write
  const exitCode = process.exitCode
  const stackPointer = inst.stack.get()
  let exit: Run['exit']
  try {
    FS.writeFile(ARCHIVE, data)
    if (outputCap !== undefined) {
      let written = 0
      // Extraction writes files through FS.write (the console is a device):
      // past the cap 7-Zip sees a full disk and stops.
      FS.write = (stream, buffer, offset, length, position, canOwn) => {
        if (FS.isFile(stream.object.mode)) {
          written += length
          if (written > outputCap) throw Object.assign(new Error('output cap'), { name: 'ErrnoError', errno: ENOSPC })
        }
        return write(stream, buffer, offset, length, position, canOwn)
      }
    }
    inst.watch = watch
    const code: unknown = module.callMain(args)
    exit = typeof code === 'number' ? code : 0
  } catch {
    exit = 'threw'
  } finally {
    process.exitCode = exitCode
    inst.stack.set(stackPointer)
    inst.watch = undefined
    FS.write = write
  }
  const tooLarge = inst.memory.buffer.byteLength > MAX_MEMORY
  const kept = lines.slice()
  lines.length = 0
  if (exit === 'threw' || tooLarge) {
    retire(sz)
    return { exit, lines: kept, tooLarge }
  }
  let result: Buffer | string | undefined
  try {
    if (after !== undefined) result = after(module)
    clean(module)
  } catch (e) {
    retire(sz)
    return `the archive reader failed: ${String(e)}`
  }
  return { exit, lines: kept, tooLarge, result }
}

/** Removes ARCHIVE and OUT with all under it. */
function clean(module: SevenZipModule): void {
  const FS = module.FS
  if (exists(module, ARCHIVE)) FS.unlink(ARCHIVE)
  if (!exists(module, OUT)) return
  // Depth first without recursion: directories are removed once emptied.
  const stack: string[] = [OUT]
  while (stack.length > 0) {
    const dir = stack[stack.length - 1]
    const names = FS.readdir(dir).filter((n) => n !== '.' && n !== '..')
    if (names.length === 0) {
      FS.rmdir(dir)
      stack.pop()
      continue
    }
    for (const name of names) {
      const p = `${dir}/${name}`
      if (FS.isDir(FS.lstat(p).mode)) stack.push(p)
      else FS.unlink(p)
    }
  }
}

function exists(module: SevenZipModule, path: string): boolean {
  try {
    module.FS.lstat(path)
    return true
  } catch {
    return false
  }
}

/** Regular files under OUT, in no particular order. */
function filesUnder(module: SevenZipModule): string[] {
  const FS = module.FS
  const files: string[] = []
  if (!exists(module, OUT)) return files
  const stack = [OUT]
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    for (const name of FS.readdir(dir)) {
      if (name === '.' || name === '..') continue
      const p = `${dir}/${name}`
      const mode = FS.lstat(p).mode
      if (FS.isDir(mode)) stack.push(p)
      else if (FS.isFile(mode)) files.push(p)
    }
  }
  return files
}

/** 7-Zip's type names to try for kind, the RAR version told by the signature's 7th byte. */
function typesFor(data: Buffer, kind: ArchiveKind): string[] {
  if (kind !== 'rar') return [TYPES[kind]]
  if (data.subarray(0, 6).equals(RAR)) {
    if (data[6] === 0) return ['Rar']
    if (data[6] === 1) return ['Rar5']
  }
  return ['Rar', 'Rar5']
}

// The separators 7-Zip may print: '\\' from Windows names, and what its Linux
// build puts for a backslash inside a name (U+F05C, CPP/Common/MyWindows and
// ItemNameUtils); the ban rules then see the last component as Windows would.
const SEPARATORS = /[\\\uF05C\u2215]/g

interface Listed {
  entries: SltEntry[]
  type: string
  unsafe?: string
}

function listAs(sz: SevenZip, data: Buffer, type: string, maxEntries: number): Listed {
  let paths = 0
  let lines = 0
  // The archive's own block has a Path line too; lines are capped as well so
  // that a flood of other output cannot fill memory.
  const lineCap = (maxEntries + 2) * 64 + 256
  let stopped = false
  const watch = (line: string): boolean => {
    if (stopped) return false
    if ((line.startsWith('Path = ') && ++paths > maxEntries + 1) || ++lines > lineCap) stopped = true
    return !stopped
  }
  const r = run(sz, data, ['l', '-slt', `-t${type}`, ...COMMON, '--', ARCHIVE], watch)
  if (typeof r === 'string') return { entries: [], type, unsafe: r }
  const parsed = parseSlt(r.lines, maxEntries)
  const entries = parsed.entries
  if (stopped) return { entries, type, unsafe: `more than ${maxEntries} entries` }
  if (r.exit === 'threw') {
    const prompt = r.lines.some((l) => l.startsWith('Enter password'))
    return { entries, type, unsafe: prompt ? 'encrypted headers' : '7-Zip stopped on data it cannot read' }
  }
  if (r.tooLarge) return { entries, type, unsafe: `reading its headers takes more than ${MAX_MEMORY / 1048576} MB of memory` }
  if (parsed.problem !== undefined) return { entries, type, unsafe: parsed.problem }
  if (r.exit !== 0) return { entries, type, unsafe: `7-Zip exit code ${r.exit}` }
  if (parsed.count > maxEntries) return { entries, type, unsafe: `more than ${maxEntries} entries` }
  return { entries, type }
}

function listAny(sz: SevenZip, data: Buffer, kind: ArchiveKind, maxEntries: number): Listed {
  if (kind === '7z') {
    const header = packedHeaderSize(data)
    if (header === 'malformed') return { entries: [], type: '7z', unsafe: 'a 7z start header or packed header that cannot be read' }
    if (header > MAX_PACKED_HEADER) return { entries: [], type: '7z', unsafe: `its packed header unpacks to ${header} bytes, more than ${MAX_PACKED_HEADER}` }
  }
  let listed: Listed | undefined
  for (const type of typesFor(data, kind)) {
    listed = listAs(sz, data, type, maxEntries)
    if (listed.unsafe === undefined || listed.entries.length > 0) return listed
  }
  return listed ?? { entries: [], type: '', unsafe: 'no reader' }
}

/** The directory of data read as `kind` (7z `l -slt -t<type>`), at most maxEntries entries kept. Synchronous. Never throws on any input. */
export function listArchive(sz: SevenZip, data: Buffer, kind: ArchiveKind, maxEntries: number): Listing {
  try {
    const listed = listAny(sz, data, kind, Math.max(0, Math.floor(maxEntries)))
    const entries = listed.entries.map(toListed)
    return listed.unsafe === undefined ? { entries } : { entries, unsafe: listed.unsafe }
  } catch (e) {
    if (e instanceof ReadersNeeded) throw e
    return { entries: [], unsafe: `the archive reader failed: ${String(e)}` }
  }
}

function toListed(e: SltEntry): ListedEntry {
  const out: ListedEntry = { path: e.path.replace(SEPARATORS, '/'), dir: e.dir, encrypted: e.encrypted }
  if (e.size !== undefined) out.size = e.size
  if (e.packedSize !== undefined) out.packedSize = e.packedSize
  return out
}

// Entries listed to find one member and the members decoded before it.
const EXTRACT_LIST_CAP = 100_000

/**
 * One member's bytes (7z `e -so` or `x` into the in-memory FS), only when its declared size is at
 * most maxBytes and, for a solid block, the declared sizes of the block's members before it plus
 * its own are at most maxBytes (7-Zip would inflate them to reach it); a string saying why not
 * otherwise, or when extraction fails or gives more than maxBytes.
 */
export function extractEntry(sz: SevenZip, data: Buffer, kind: ArchiveKind, path: string, maxBytes: number): Buffer | string {
  try {
    return extract(sz, data, kind, path, maxBytes)
  } catch (e) {
    if (e instanceof ReadersNeeded) throw e
    return `the archive reader failed: ${String(e)}`
  }
}

function extract(sz: SevenZip, data: Buffer, kind: ArchiveKind, path: string, maxBytes: number): Buffer | string {
  const listed = listAny(sz, data, kind, EXTRACT_LIST_CAP)
  if (listed.unsafe !== undefined) return `cannot list the archive: ${listed.unsafe}`
  const all = listed.entries
  const at: number[] = []
  all.forEach((e, i) => {
    if (e.path.replace(SEPARATORS, '/') === path) at.push(i)
  })
  if (at.length === 0) return `no member ${path}`
  if (at.length > 1) return `more than one member named ${path}`
  const index = at[0]
  const target = all[index]
  if (target.dir) return `${path} is a directory`
  if (target.encrypted) return `${path} is encrypted`
  const before = decodedBefore(all, index, kind)
  let total = 0
  for (const e of [...before, target]) {
    if (e.size === undefined) return `the size of ${e === target ? path : e.path} is not declared`
    total += e.size
  }
  if (target.size !== undefined && target.size > maxBytes) return `declared size ${target.size} is more than ${maxBytes} bytes`
  if (total > maxBytes) return `its solid block holds ${total} bytes up to it, more than ${maxBytes}`
  // gzip holds one member, whose name 7-Zip may derive from the archive's.
  const names = kind === 'gzip' ? [] : [target.path]
  const args = ['x', `-t${listed.type}`, ...COMMON, `-o${OUT}`, '-y', '-spd', '-aou', '--', ARCHIVE, ...names]
  const r = run(sz, data, args, undefined, maxBytes, (module) => {
    const files = filesUnder(module)
    if (files.length !== 1) return `extraction gave ${files.length} files`
    return Buffer.from(module.FS.readFile(files[0]))
  })
  if (typeof r === 'string') return r
  if (r.exit === 'threw') return r.lines.some((l) => l.startsWith('Enter password')) ? `${path} is encrypted` : '7-Zip stopped on data it cannot read'
  if (r.tooLarge) return `extracting it takes more than ${MAX_MEMORY / 1048576} MB of memory`
  const problem = r.lines.find((l) => /^(ERROR|ERRORS|Can ?not|Data Error|CRC Failed|Unexpected end|Headers Error|Wrong password|There is not enough space)/i.test(l))
  if (r.lines.some((l) => /not enough space/i.test(l))) return `it gives more than ${maxBytes} bytes`
  if (problem !== undefined) return problem
  if (r.exit !== 0) return `7-Zip exit code ${r.exit}`
  const got = r.result
  if (got === undefined) return 'nothing extracted'
  if (typeof got === 'string') return got
  if (got.length > maxBytes) return `it gives more than ${maxBytes} bytes`
  return got
}

/** The members 7-Zip decodes before entry `index` to reach it, by the declared layout. */
function decodedBefore(all: SltEntry[], index: number, kind: ArchiveKind): SltEntry[] {
  const target = all[index]
  if (kind === '7z' || kind === 'cab') {
    // 7-Zip gives each member's block (a 7z folder, a CAB folder), each
    // compressed as one stream.
    if (target.block !== undefined) return all.slice(0, index).filter((e) => e.block === target.block)
    // A CAB member without one: every member before it counts.
    return kind === 'cab' ? all.slice(0, index) : []
  }
  if (kind === 'rar') {
    // A solid member continues the stream from the last member that is not solid.
    let start = index
    while (start > 0 && all[start].solid) start--
    return all.slice(start, index)
  }
  return []
}
