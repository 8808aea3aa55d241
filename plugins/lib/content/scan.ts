// What the content checks (G19, G18, G1A-G1D) judge, read from the raw
// message in one function of plain data in, plain data out, so that it runs
// the same in Haraka's thread or on the scan thread (scan-thread.ts).
import { gatherAttachments } from './attachment-facts'
import { AttachmentFacts } from './attachment-facts'
import { Deadline, ScanDeadlineError } from '../mime/deadline'
import { ArchiveReaders, ReadersNeeded } from './archive/readers'
import { scanMime, ScanLimit, ScanLimits } from '../mime/scan'

export type { LimitName, ScanLimit } from '../mime/scan'

/** The settings the scan reads: [mime], [attachments] and the limits of [scan] of support-codes-data.ini. */
export interface ContentSettings {
  mime: { partial: boolean; contenttype: boolean }
  attachments: {
    archives: boolean; banned: boolean; winzip: boolean; clsid: boolean
    max_depth: number; max_entries: number; max_archive_bytes: number
    max_nested_bytes: number; max_ratio: number; max_total_bytes: number
  }
  scan: { max_parts: number; max_depth: number; max_header_bytes: number; max_encoded_messages: number }
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
  /**
   * The first limit the scan reached: part of the message was not looked
   * at, and a banned file may be there. Never accepted (phases/data.ts).
   */
  limit?: ScanLimit
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

/** The facts of a message whose scan did not finish in time. */
export function timedOut(detail: string): ContentFacts {
  return { problems: [], contentTypes: [], limit: { name: 'timeout', detail } }
}

/**
 * Never throws on any input. With deadlineMs (a scan on Haraka's own
 * thread), a scan still running after that many milliseconds, or about to
 * take a step of more than IN_PLACE_STEP_BYTES (deadline.ts), stops and
 * answers the "timeout" limit (timedOut()).
 */
export function scanContent(raw: Buffer, s: ContentSettings, deadlineMs?: number, readers?: ArchiveReaders): ContentFacts {
  const deadline = deadlineMs === undefined ? undefined : new Deadline(deadlineMs)
  try {
    return scanWithin(raw, s, deadline, readers)
  } catch (err) {
    // without a deadline (on the scan thread, or explain), the caller loads the readers and scans again
    if (err instanceof ReadersNeeded && !deadline) throw err
    if (err instanceof ScanDeadlineError) return timedOut(err.message)
    throw err
  }
}

/** scanContent() where archives of every kind are read: the readers are loaded when a message first needs them. */
export async function scanWithReaders(raw: Buffer, s: ContentSettings, load: () => Promise<ArchiveReaders>): Promise<ContentFacts> {
  let readers: ArchiveReaders | undefined
  // a reader used up by one archive is made afresh in the background: waited for, a few times at most
  for (let tries = 0; ; tries++) {
    try {
      return scanContent(raw, s, undefined, readers)
    } catch (err) {
      if (!(err instanceof ReadersNeeded)) throw err
      // a reader that cannot be made ready: the message cannot be scanned now (the "timeout" limit)
      if (tries >= 3) return timedOut(err.message)
      readers = await load()
      await readers.ready()
    }
  }
}

function scanWithin(raw: Buffer, s: ContentSettings, deadline: Deadline | undefined, readers: ArchiveReaders | undefined): ContentFacts {
  const a = s.attachments
  const scanLimits: ScanLimits = { maxParts: s.scan.max_parts, maxDepth: s.scan.max_depth, maxHeaderBytes: s.scan.max_header_bytes, deadline }
  const scan = scanMime(raw, scanLimits)
  const facts: ContentFacts = {
    problems: scan.problems.map((p) => `${p.kind} (${p.detail})`),
    contentTypes: scan.parts.map((p) => p.contentType),
    topLevelName: scan.parts[0]?.params.name,
  }
  if (scan.limit) facts.limit = scan.limit
  if (checksFiles(s)) {
    const gathered = gatherAttachments(raw, scan, {
      archives: a.archives,
      maxArchiveBytes: a.max_archive_bytes,
      scanLimits,
      maxEncodedMessages: s.scan.max_encoded_messages,
      deadline,
      readers,
      limits: { maxDepth: a.max_depth, maxEntries: a.max_entries, maxNestedBytes: a.max_nested_bytes, maxRatio: a.max_ratio, maxTotalBytes: a.max_total_bytes },
    })
    facts.attachments = gathered.facts
    if (gathered.problems) facts.problems.push(...gathered.problems)
    if (gathered.limit) {
      facts.limit ??= gathered.limit
      facts.problems.push(`${gathered.limit.name} limit (${gathered.limit.detail})`)
    }
  }
  return facts
}
