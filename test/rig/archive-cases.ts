// Messages with archives of every format the bundle reads by content (RAR 4
// and 5, 7z, ISO 9660 and IMG, UDF, tar, gzip, CAB), each made by the real
// tool (test/rig/archive-tools.ts) and attached base64 under an innocent
// name and type: the format must be found by its bytes. For each format an
// archive holding invoice.exe (G1A naming the path inside) and one holding
// only report.pdf (accepted); nested archives; and the bomb shapes, which
// hold innocent names only, so that a refusal can come from the cap alone.
// The unit test and the end-to-end test judge the same messages.
import { mulberry32 } from './prng'
import { mimeMessage } from './mime-build'
import { PROGRAM, randomBytes } from './zip-corpus'
import * as tools from './archive-tools'

export interface ArchiveCase {
  /** Unique, for the test's title. */
  name: string
  /** Which format the case is about: 7z, rar4, rar5, iso, img, udf, tar, gzip, cab. */
  format: string
  message: Buffer
  /** The G1A expected (its reason, as the attachment check writes it); undefined: accepted. */
  refused?: RegExp
}

/** The attachment's name and type: nothing says archive. */
export const INNOCENT = { name: 'document.pdf', type: 'application/pdf' }

const MiB = 1 << 20
// [attachments] defaults of support-codes-data.ini.
const MAX_NESTED_BYTES = 10 * MiB
const MAX_ENTRIES = 1000
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n', 'latin1')

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * "<attachment> > <path>": the container path a user opens on the way, each
 * archive's own path ('/' between directories), outermost first, joined by
 * " > " (checks/attachments.ts). `anyCase` for disk images, whose ISO 9660 primary tree
 * has the names upper-cased (INVOICE.EXE) beside Joliet's and Rock Ridge's.
 */
function holds(levels: string[], anyCase = false, attachment = INNOCENT.name): RegExp {
  return new RegExp(`^${escape([attachment, ...levels].join(' > '))}$`, anyCase ? 'i' : '')
}

/** "<attachment> cannot be shown safe: <why>", the why matching each of `says` (regular expressions, any case). */
function unsafe(says: string[] = [], attachment = INNOCENT.name): RegExp {
  return new RegExp(`^${escape(attachment)} cannot be shown safe: ${says.map((w) => `(?=.*${w})`).join('')}.+$`, 'i')
}

function message(archive: Buffer, attachment = INNOCENT): Buffer {
  return Buffer.from(mimeMessage({ subject: 'the document', text: 'Please see the attached document.', attachments: [{ ...attachment, data: archive }] }), 'latin1')
}

/**
 * Bytes that neither compress much nor look like anything: one random bit
 * per byte ('a' or 'b'), so an 11 MiB file packs to a few MiB at most and a
 * nested archive's compression ratio stays far under [attachments] max_ratio.
 */
function lowEntropy(seed: number, length: number): Buffer {
  const next = mulberry32(seed)
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i += 32) {
    const bits = Math.floor(next() * 2 ** 32)
    for (let j = 0; j < 32 && i + j < length; j++) out[i + j] = bits & (1 << j) ? 0x61 : 0x62
  }
  return out
}

/** A tree holding `leaf` under docs/, beside a random picture that keeps a nested copy's ratio low. */
function tree(leaf: string, seed: number): tools.Tree {
  return { [`docs/${leaf}`]: leaf.endsWith('.exe') ? PROGRAM : PDF, 'photo.jpg': randomBytes(seed, 16 * 1024) }
}

// Past ustar's 100-byte name field: ustar splits it into prefix and name,
// pax writes a "path" record, GNU a ././@LongLink entry.
const LONG_DIR = 'documents/2026/quarterly-reports-for-the-finance-department-and-the-auditors-of-the-company'

/** An ISO cut in the middle of its primary tree's root directory (genisoimage writes the trees first, the files after them). */
function isoCutInRoot(image: Buffer): Buffer {
  const rootLba = image.readUInt32LE(0x8000 + 156 + 2)
  return Buffer.from(image.subarray(0, rootLba * 2048 + 1024))
}

const UDF_ANCHOR_SECTOR = 256

let cached: ArchiveCase[] | undefined

/**
 * The cases, or the error that stopped building them (a missing tool, named
 * with its Debian package): built when a test file loads, so that each case
 * is a test, and the error reported by a test of its own.
 */
export function archiveCasesOrMissing(): { cases: ArchiveCase[]; missing?: Error } {
  try {
    return { cases: archiveCases() }
  } catch (err) {
    return { cases: [], missing: err instanceof Error ? err : new Error(String(err)) }
  }
}

/** Every case, built once per process (the tools take a few seconds in all). */
export function archiveCases(): ArchiveCase[] {
  cached ??= build()
  return cached
}

function build(): ArchiveCase[] {
  const cases: ArchiveCase[] = []
  const add = (format: string, name: string, archive: Buffer, refused?: RegExp, attachment = INNOCENT): void => {
    cases.push({ name: `${format}: ${name}`, format, message: message(archive, attachment), refused })
  }
  /** A pair: the tree with invoice.exe refused naming it, the same with report.pdf accepted. */
  const pair = (format: string, name: string, make: (t: tools.Tree) => Buffer, levels: (leaf: string) => string[] = (leaf) => [`docs/${leaf}`], anyCase = false, attachment = INNOCENT): void => {
    add(format, `${name} holding invoice.exe`, make(tree('invoice.exe', cases.length)), holds(levels('invoice.exe'), anyCase, attachment.name), attachment)
    add(format, `${name} holding report.pdf`, make(tree('report.pdf', cases.length)), undefined, attachment)
  }

  // 7z: data methods, solid blocks, the header packed (LZMA) or plain, data encrypted with the names in clear
  pair('7z', 'LZMA2, header packed', (t) => tools.sevenZip(t))
  pair('7z', 'LZMA2 solid', (t) => tools.sevenZip(t, { solid: true }))
  pair('7z', 'LZMA, header packed', (t) => tools.sevenZip(t, { method: 'LZMA' }))
  pair('7z', 'LZMA, header plain', (t) => tools.sevenZip(t, { method: 'LZMA', packedHeader: false }))
  pair('7z', 'stored (Copy), header plain', (t) => tools.sevenZip(t, { method: 'Copy', packedHeader: false }))
  pair('7z', 'encrypted data, names in clear', (t) => tools.sevenZip(t, { password: 'secret', encryptHeader: false }))

  // RAR, from public test suites (test/fixtures/archives/SOURCES.md)
  const rar4 = tools.rar4FakeExe()
  add('rar4', 'rspamd\'s f.rar holding fake.exe', rar4, holds(['fake.exe']))
  add('rar4', 'the same renamed fake.pdf', tools.renameInRar4(rar4, 'fake.exe', 'fake.pdf'))
  add('rar4', 'stored, written by the rig, holding invoice.exe in a folder', tools.rar4Stored({ 'docs\\invoice.exe': PROGRAM, 'docs\\report.pdf': '%PDF-1.4' }), holds(['docs/invoice.exe']))
  const stored = tools.rar5('stored')
  add('rar5', 'stored, helloworld.txt renamed helloworld.exe', tools.renameInRar5(stored, 'helloworld.txt', 'helloworld.exe'), holds(['helloworld.exe']))
  add('rar5', 'stored, helloworld.txt', stored)
  const solid = tools.rar5('multiple_files_solid')
  add('rar5', 'solid, test3.bin renamed test3.exe', tools.renameInRar5(solid, 'test3.bin', 'test3.exe'), holds(['test3.exe']))
  add('rar5', 'solid, test1.bin … test4.bin', solid)
  const encrypted = tools.rar5('encrypted')
  add('rar5', 'encrypted data, b.txt renamed b.exe', tools.renameInRar5(encrypted, 'b.txt', 'b.exe'), holds(['b.exe']))
  add('rar5', 'encrypted data, a.txt … d.txt', encrypted)

  // ISO 9660: every combination of Joliet and Rock Ridge, by both tools; an IMG; UDF
  for (const builder of ['genisoimage', 'xorriso'] as const) {
    for (const [joliet, rockRidge] of [[true, true], [true, false], [false, true], [false, false]]) {
      const label = `${builder}${joliet ? ' -J' : ''}${rockRidge ? ' -R' : ''}`
      pair('iso', label, (t) => tools.iso(t, { builder, joliet, rockRidge }), undefined, true)
    }
  }
  pair('img', 'genisoimage -J -R image as backup.img', (t) => tools.iso(t, { joliet: true, rockRidge: true }), undefined, true, { name: 'backup.img', type: 'application/octet-stream' })
  pair('udf', 'genisoimage -udf', (t) => tools.iso(t, { udf: true }), undefined, true)

  // tar: the three formats, with a path past ustar's 100-byte name field
  for (const format of ['ustar', 'pax', 'gnu'] as const) {
    for (const leaf of ['invoice.exe', 'report.pdf']) {
      const t = tree(leaf, cases.length)
      const archive = tools.tar({ [`${LONG_DIR}/${leaf}`]: t[`docs/${leaf}`], 'photo.jpg': t['photo.jpg'] }, format)
      add('tar', `--format=${format}, ${leaf} at a path of ${LONG_DIR.length + leaf.length + 1} bytes`, archive, leaf === 'invoice.exe' ? holds([`${LONG_DIR}/${leaf}`]) : undefined)
    }
  }

  // gzip: a file's original name in the member's header; a tar inside, read as a tar under that name
  add('gzip', 'invoice.exe gzipped', tools.gzip('invoice.exe', PROGRAM), holds(['invoice.exe']))
  add('gzip', 'report.pdf gzipped', tools.gzip('report.pdf', PDF))
  for (const format of ['ustar', 'gnu'] as const) {
    add('gzip', `.tar.gz (${format}) holding invoice.exe`, tools.tarGz(tree('invoice.exe', 90), format),
      holds(['archive.tar', 'docs/invoice.exe']))
    add('gzip', `.tar.gz (${format}) holding report.pdf`, tools.tarGz(tree('report.pdf', 91), format))
  }

  // CAB
  pair('cab', 'gcab -z (MSZIP)', (t) => tools.cab(t))

  // Nested: a zip in an ISO in a 7z; a tar in a gzip in a 7z
  for (const leaf of ['invoice.exe', 'report.pdf']) {
    const inner = tools.zip({ [leaf]: leaf.endsWith('.exe') ? PROGRAM : PDF })
    // the image's files: random bytes, so that the 7z's ratio for the image stays low
    const image = tools.iso({ 'payload/inner.zip': inner, 'photo.jpg': randomBytes(7, 256 * 1024) }, { joliet: true, rockRidge: true })
    const outer = tools.sevenZip({ 'disk.iso': image, 'readme.txt': 'The disk image.\n' })
    add('nested', `a zip in an ISO in a 7z, the zip holding ${leaf}`, outer, leaf.endsWith('.exe') ? holds(['disk.iso', 'payload/inner.zip', leaf], true) : undefined)
    const tgz = tools.tarGz({ [`docs/${leaf}`]: leaf.endsWith('.exe') ? PROGRAM : PDF, 'photo.jpg': randomBytes(8, 64 * 1024) }, 'ustar', 'backup.tar')
    add('nested', `a tar in a gzip in a 7z, the tar holding ${leaf}`, tools.sevenZip({ 'backup.tgz': tgz }),
      leaf.endsWith('.exe') ? holds(['backup.tgz', 'backup.tar', 'docs/invoice.exe']) : undefined)
  }

  // Bombs. 1 GiB of zeros in a 7z: never inflated, judged by its name.
  add('7z', '1 GiB of zeros named zeros.bin (not inflated)', tools.sevenZipOfZeros('zeros.bin', 1 << 30))

  // A nested archive over [attachments] max_nested_bytes: a zip of 10.5 MiB
  // holding only data.bin, so that nothing but the cap can refuse it.
  const big = tools.zip({ 'data.bin': lowEntropy(1, MAX_NESTED_BYTES + MiB / 2) }, { store: true })
  const overCap = unsafe([String(MAX_NESTED_BYTES)])
  add('7z', 'a nested zip over max_nested_bytes', tools.sevenZip({ 'big.zip': big }), overCap)
  add('iso', 'a nested zip over max_nested_bytes', tools.iso({ 'big.zip': big }, { joliet: true, rockRidge: true }), overCap)
  add('udf', 'a nested zip over max_nested_bytes', tools.iso({ 'big.zip': big }, { udf: true }), overCap)
  add('tar', 'a nested zip over max_nested_bytes', tools.tar({ 'big.zip': big }, 'ustar'), overCap)
  add('gzip', 'a zip over max_nested_bytes gzipped', tools.gzip('big.zip', big), overCap)
  add('cab', 'a nested zip over max_nested_bytes', tools.cab({ 'big.zip': big }), overCap)
  add('rar4', 'a nested zip over max_nested_bytes (written by the rig)', tools.rar4Stored({ 'big.zip': big }), overCap)

  // Truncated archives, holding innocent names only
  const plain = tree('report.pdf', 93)
  // (the reason says so, in 7-Zip's words or the image or gzip reader's: not
  // merely that the reader could not run)
  add('7z', 'truncated', tools.truncated(tools.sevenZip(plain)), unsafe(['cannot (open|be read)']))
  add('rar4', 'truncated', tools.truncated(tools.renameInRar4(rar4, 'fake.exe', 'fake.pdf')), unsafe(['unexpected end']))
  add('rar5', 'truncated', tools.truncated(stored), unsafe(['unexpected end']))
  add('iso', 'truncated in its root directory', isoCutInRoot(tools.iso(plain, { joliet: true, rockRidge: true })), unsafe(['past the end of the image']))
  add('udf', 'truncated in its anchor', Buffer.from(tools.iso(plain, { udf: true }).subarray(0, UDF_ANCHOR_SECTOR * 2048 + 128)), unsafe(['past the end of the image']))
  add('tar', 'truncated in a member', tools.truncated(tools.tar(plain, 'ustar'), 0.4), unsafe(['unexpected end']))
  add('gzip', '.tar.gz truncated', tools.truncated(tools.tarGz(plain, 'ustar')), unsafe(['truncated']))
  add('cab', 'truncated', tools.truncated(tools.cab(plain)), unsafe(['unexpected end']))

  // 5000 entries, over [attachments] max_entries (empty files: an image needs no sector for them)
  const many = tools.manyFiles(5000)
  const overEntries = unsafe(['entr', String(MAX_ENTRIES)])
  add('7z', '5000 entries', tools.sevenZip(many), overEntries)
  add('iso', '5000 entries', tools.iso(many, { joliet: true, rockRidge: true }), overEntries)
  add('udf', '5000 entries', tools.iso(many, { udf: true }), overEntries)
  add('tar', '5000 entries', tools.tar(many, 'ustar'), overEntries)
  add('gzip', '5000 entries in a .tar.gz', tools.tarGz(many, 'ustar'), overEntries)
  add('cab', '5000 entries', tools.cab(many), overEntries)
  add('rar4', '5000 entries (written by the rig)', tools.rar4Stored(many), overEntries)

  // Encrypted headers: no name can be read. Last: 7-Zip stops on them by
  // throwing, and the reader is then loaded again.
  add('7z', 'encrypted header (-mhe=on)', tools.sevenZip(tree('report.pdf', 92), { password: 'secret', encryptHeader: true }), unsafe(['encrypt']))
  add('rar5', 'encrypted headers', tools.rar5('encrypted_filenames'), unsafe(['encrypt']))

  return cases
}
