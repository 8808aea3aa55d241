// G1A, G1B, G1C, G1D: dangerous files, judged by their decoded names (see
// mime/) and, for archives, by the names inside them (see content/zip/archive.ts).
import { Verdict } from '../codes/render'
import { AttachmentFacts } from '../content/attachment-facts'

const SPACE = /\s/

/**
 * The extension Windows uses: the last one, lower-case ("invoice.pdf.exe" →
 * "exe"), trailing dots and white space left out. Read from the end by
 * hand: the sender writes the name, and /[.\s]+$/ is quadratic on a long run
 * of spaces followed by something else (20,000 spaces took 480 ms, on
 * Haraka's own thread).
 */
export function extensionOf(name: string): string {
  let end = name.length
  while (end > 0 && (name[end - 1] === '.' || SPACE.test(name[end - 1]))) end--
  const start = Math.max(name.lastIndexOf('/', end - 1), name.lastIndexOf('\\', end - 1)) + 1
  if (start >= end) return ''
  const dot = name.lastIndexOf('.', end - 1)
  if (dot < start) return ''
  return dot > start || end - start > 1 ? name.slice(dot + 1, end).toLowerCase() : ''
}

// Extensions linked to WinZip vulnerabilities (the provider's G1C list).
export const WINZIP_EXTENSIONS = new Set(['mim', 'b64', 'bhx', 'hqx', 'xxe', 'uu', 'uue'])

// A Windows class id in a file name hides the real type from the user:
// "{" then 25 or more hex digits and dashes, then "}".
const CLSID = /\{[0-9a-f-]{25,}\}/i


export interface AttachmentConfig {
  archives: boolean
  banned: boolean
  winzip: boolean
  clsid: boolean
  unsafe_archive: 'reject' | 'defer' | 'accept'
}

/**
 * The reasons name the container path a user opens on the way, as
 * "invoice.iso > setup/run.exe": the attachment, then each archive inside
 * it. Names inside archives go through every rule, as attachments' own do.
 */
export function attachmentCheck(facts: AttachmentFacts, cfg: AttachmentConfig, banned: ReadonlySet<string>): Verdict | undefined {
  const inside = (test: (name: string) => boolean): string | undefined => {
    for (const a of facts.archives) {
      const bad = a.entries.find(test)
      if (bad) return `${a.attachment} > ${bad}`
    }
    return undefined
  }
  if (cfg.archives) {
    for (const a of facts.archives) {
      const bad = a.entries.find((e) => banned.has(extensionOf(e)))
      if (bad) return { id: 'G1A', reason: `${a.attachment} > ${bad}` }
      if (a.unsafe && cfg.unsafe_archive === 'reject') return { id: 'G1A', reason: `${a.attachment} cannot be shown safe: ${a.unsafe}` }
      if (a.unsafe && cfg.unsafe_archive === 'defer') return { id: 'SCAN-TEMP', reason: `${a.attachment} cannot be shown safe: ${a.unsafe}` }
    }
  }
  if (cfg.banned) {
    const bad = facts.filenames.find((n) => banned.has(extensionOf(n)))
    if (bad) return { id: 'G1B', reason: `attachment ${bad}` }
  }
  if (cfg.winzip) {
    const isWinzip = (n: string): boolean => WINZIP_EXTENSIONS.has(extensionOf(n))
    const bad = facts.filenames.find(isWinzip)
    if (bad) return { id: 'G1C', reason: `attachment ${bad}` }
    const deep = inside(isWinzip)
    if (deep) return { id: 'G1C', reason: deep }
  }
  if (cfg.clsid) {
    const isClsid = (n: string): boolean => CLSID.test(n)
    const bad = facts.filenames.find(isClsid)
    if (bad) return { id: 'G1D', reason: `attachment ${bad}` }
    const deep = inside(isClsid)
    if (deep) return { id: 'G1D', reason: deep }
  }
  return undefined
}
