// G1A, G1B, G1C, G1D: dangerous files, judged by their decoded names (see
// mime/) and, for archives, by the names inside them (see archive.ts).
import { Verdict } from '../render'

/** The extension Windows uses: the last one, lower-case ("invoice.pdf.exe" → "exe"). */
export function extensionOf(name: string): string {
  const base = name.replace(/[.\s]+$/, '').split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  return dot > 0 || (dot === 0 && base.length > 1) ? base.slice(dot + 1).toLowerCase() : ''
}

// Extensions linked to WinZip vulnerabilities (the provider's G1C list).
export const WINZIP_EXTENSIONS = new Set(['mim', 'b64', 'bhx', 'hqx', 'xxe', 'uu', 'uue'])

// A Windows class id in a file name hides the real type from the user:
// "{" then 25 or more hex digits and dashes, then "}".
const CLSID = /\{[0-9a-f-]{25,}\}/i

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

export interface AttachmentConfig {
  archives: boolean
  banned: boolean
  winzip: boolean
  clsid: boolean
  unsafe_archive: 'reject' | 'defer' | 'accept'
}

export function attachmentCheck(facts: AttachmentFacts, cfg: AttachmentConfig, banned: ReadonlySet<string>): Verdict | undefined {
  if (cfg.archives) {
    for (const a of facts.archives) {
      const bad = a.entries.find((e) => banned.has(extensionOf(e)))
      if (bad) return { id: 'G1A', reason: `${a.attachment} holds ${bad}` }
      if (a.unsafe && cfg.unsafe_archive === 'reject') return { id: 'G1A', reason: `${a.attachment} cannot be shown safe: ${a.unsafe}` }
      if (a.unsafe && cfg.unsafe_archive === 'defer') return { id: 'SCAN-TEMP', reason: `${a.attachment} cannot be shown safe: ${a.unsafe}` }
    }
  }
  if (cfg.banned) {
    const bad = facts.filenames.find((n) => banned.has(extensionOf(n)))
    if (bad) return { id: 'G1B', reason: `attachment ${bad}` }
  }
  if (cfg.winzip) {
    const bad = facts.filenames.find((n) => WINZIP_EXTENSIONS.has(extensionOf(n)))
    if (bad) return { id: 'G1C', reason: `attachment ${bad}` }
  }
  if (cfg.clsid) {
    const bad = facts.filenames.find((n) => CLSID.test(n))
    if (bad) return { id: 'G1D', reason: `attachment ${bad}` }
  }
  return undefined
}
