// What the content checks (G19, G18, G1A-G1D) judge, read from the raw
// message in one function of plain data in, plain data out, so that it runs
// the same in Haraka's thread or on the scan thread (scan-thread.ts).
import { gatherAttachments } from './attachment-facts'
import { AttachmentFacts } from './checks/attachments'
import { scanMime } from './mime/scan'

/** The settings the scan reads: [mime] and [attachments] of support-codes-data.ini. */
export interface ContentSettings {
  mime: { partial: boolean; contenttype: boolean }
  attachments: {
    archives: boolean; banned: boolean; winzip: boolean; clsid: boolean
    max_depth: number; max_entries: number; max_archive_bytes: number
    max_nested_bytes: number; max_ratio: number; max_total_bytes: number
  }
}

export interface ContentFacts {
  /** What could not be read as MIME, for the log ("kind (detail)"). */
  problems: string[]
  /** Every part's type, in order, the message itself first. */
  contentTypes: string[]
  /** name= of the message's own Content-Type. */
  topLevelName?: string
  /** Present when a file check is on. */
  attachments?: AttachmentFacts
}

/** Whether a file check (G1A-G1D) is on. */
export function checksFiles(s: ContentSettings): boolean {
  const a = s.attachments
  return a.archives || a.banned || a.winzip || a.clsid
}

/** Whether any content check is on: the message is not scanned otherwise. */
export function needsScan(s: ContentSettings): boolean {
  return s.mime.partial || s.mime.contenttype || checksFiles(s)
}

export function scanContent(raw: Buffer, s: ContentSettings): ContentFacts {
  const a = s.attachments
  const scanLimits = { maxParts: Math.max(100, a.max_entries), maxDepth: 50, maxHeaderBytes: 64 * 1024 }
  const scan = scanMime(raw, scanLimits)
  const facts: ContentFacts = {
    problems: scan.problems.map((p) => `${p.kind} (${p.detail})`),
    contentTypes: scan.parts.map((p) => p.contentType),
    topLevelName: scan.parts[0]?.params.name,
  }
  if (checksFiles(s)) {
    facts.attachments = gatherAttachments(raw, scan, {
      archives: a.archives,
      maxArchiveBytes: a.max_archive_bytes,
      scanLimits,
      limits: { maxDepth: a.max_depth, maxEntries: a.max_entries, maxNestedBytes: a.max_nested_bytes, maxRatio: a.max_ratio, maxTotalBytes: a.max_total_bytes },
    })
  }
  return facts
}
