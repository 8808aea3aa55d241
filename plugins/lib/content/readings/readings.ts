// Reads a disputed message (signs.ts, or the scanner's own signs) every
// plausible way: the whole message and every stretch between "--" lines
// (segments.ts), each as sent, as base64 at the four alignments with every
// other character ignored, as lenient quoted-printable, as uuencode without
// a begin line and as yEnc, and each of those gunzipped where a gzip member
// shows. In every result a zip is looked for anywhere, from its local
// headers. The stretches' own header fields give file names too. All of it
// is judged by names only: these are readings some client may take, not
// the declared one, and random bytes must never refuse a mail.
//
// Work is linear: the stretches cover the message twice (whole and cut),
// and each is decoded a fixed number of ways, each at most its own length.
import { collectFilenames } from '../../mime/filenames'
import { readHeaderBlock } from '../../mime/headers'
import { CR, LF } from '../../mime/lines'
import { makePart } from '../../mime/part-fields'
import type { Ticker } from '../../mime/types'
import type { ArchiveBudget, ArchiveLimits } from '../zip/archive'
import { zipEntriesAnywhere } from '../zip/local-headers'
import { decodeBase64 } from '../../mime/decode'
import { base64AnyAlignment, gunzipAnywhere, quotedPrintableLenient, uudecodeLines, ydecode } from './decoders'
import { dashSegments } from './segments'

export interface ReadingOptions {
  limits: ArchiveLimits
  /** Entries and inflated bytes these readings may spend, all together. */
  budget: ArchiveBudget
  /** Stretches between "--" lines read at most; past that the last one runs to the end. */
  maxSegments: number
  maxHeaderBytes: number
  /** Bytes one reading decodes at most. */
  maxBytes: number
  deadline?: Ticker
}

export interface DisputedArchive {
  /** Where and how: "the part after "--q1" read as base64". */
  where: string
  entries: string[]
}

export interface DisputedReadings {
  filenames: string[]
  archives: DisputedArchive[]
  /** Set when the budget ran out: some reading was not looked at in full, and the mail is not accepted. */
  spent?: string
}

const MIME_FIELDS = new Set(['content-type', 'content-disposition', 'content-transfer-encoding'])
// gzip members gunzipped per decoded stretch at most.
const MAX_GZIP_MEMBERS = 4

interface Reading {
  how: string
  data: Buffer | undefined
}

/** The ways one stretch is decoded, made one at a time so that only one is held at once. */
function* readingsOf(raw: Buffer, start: number, end: number, opts: ReadingOptions): Generator<Reading> {
  const most = Math.min(end - start, opts.maxBytes)
  const step = (): void => opts.deadline?.check(end - start)
  step()
  yield { how: 'as sent', data: raw.subarray(start, Math.min(end, start + opts.maxBytes)) }
  for (let skip = 0; skip < 4; skip++) {
    step()
    yield { how: skip ? `base64 with its first ${skip} character${skip > 1 ? 's' : ''} left out` : 'base64', data: base64AnyAlignment(raw, start, end, skip, most, opts.deadline) }
  }
  // base64 in chunks, each ended by its "=" padding, from the body on (the
  // header's own "=" and letters would shift the first chunk): as the
  // declared decoder reads it, "-" and "_" as URL-safe digits
  const body = bodyStart(raw, start, end)
  step()
  yield { how: 'base64 in padded chunks', data: decodeBase64(raw, body, end, most) }
  step()
  yield { how: 'quoted-printable', data: quotedPrintableLenient(raw, start, end, most, opts.deadline) }
  step()
  yield { how: 'uuencode', data: uudecodeLines(raw, start, end, most, opts.deadline) }
  step()
  yield { how: 'yEnc', data: ydecode(raw, start, end, most, opts.deadline) }
}

/** Where a stretch's body starts: after its first empty line, or at its start when it has none. */
function bodyStart(raw: Buffer, start: number, end: number): number {
  // searched in the stretch alone, so that the stretches together cost the message once
  const stretch = raw.subarray(start, end)
  const crlf = stretch.indexOf('\r\n\r\n')
  const lf = stretch.indexOf('\n\n')
  const at = Math.min(crlf < 0 ? Infinity : crlf + 4, lf < 0 ? Infinity : lf + 2)
  return at === Infinity ? start : start + at
}

/** The file names of a stretch read as a part: its header fields, or those after an empty first line. */
function namesOf(raw: Buffer, start: number, end: number, opts: ReadingOptions): string[] {
  let from = start
  // a part that starts with an empty line: some parsers read the fields after it
  if (raw[from] === CR && raw[from + 1] === LF) from += 2
  else if (raw[from] === LF) from += 1
  const stretch = raw.subarray(0, end)
  const block = readHeaderBlock(stretch, from, opts.maxHeaderBytes, (n) => MIME_FIELDS.has(n), undefined, opts.maxHeaderBytes, opts.deadline)
  if (!block.fields.length) return []
  const { named } = makePart(stretch, from, block, { path: 'x', depth: 1, defaultType: 'text/plain' })
  return collectFilenames(named, [])
}

/**
 * Every reading of raw as described above. Throws ScanDeadlineError past
 * the deadline, as the scan does; never on input.
 */
export function readDisputed(raw: Buffer, opts: ReadingOptions): DisputedReadings {
  const filenames = new Set<string>()
  const archives: DisputedArchive[] = []
  const segments = dashSegments(raw, 0, raw.length, opts.maxSegments, opts.deadline)
  const stretches = [{ start: 0, end: raw.length, where: 'the message' }]
  if (segments.length > 1) {
    for (const s of segments) stretches.push({ start: s.start, end: s.end, where: s.after ? `the part after "${s.after}"` : 'the text before the first "--" line' })
  }
  for (const s of stretches) {
    if (s.start > 0) for (const name of namesOf(raw, s.start, s.end, opts)) filenames.add(name)
    for (const r of readingsOf(raw, s.start, s.end, opts)) {
      if (opts.budget.entries <= 0 || opts.budget.bytes <= 0) break
      if (!r.data?.length) continue
      look(`${s.where} read ${r.how === 'as sent' ? r.how : `as ${r.how}`}`, r.data, opts, archives)
    }
  }
  const out: DisputedReadings = { filenames: [...filenames], archives }
  if (opts.budget.entries <= 0) out.spent = 'zip entries'
  else if (opts.budget.bytes <= 0) out.spent = 'gunzipped bytes'
  return out
}

/** Zip entries anywhere in data, and in every gzip member in it. */
function look(where: string, data: Buffer, opts: ReadingOptions, archives: DisputedArchive[]): void {
  const found = zipEntriesAnywhere(data, opts.limits, opts.budget, opts.deadline)
  if (found.names.length) archives.push({ where, entries: found.names })
  // gunzipped bytes come out of the budget, so that gzip bombs in many stretches cannot multiply
  if (opts.budget.bytes <= 0) return
  for (const inflated of gunzipAnywhere(data, Math.min(opts.maxBytes, opts.budget.bytes), MAX_GZIP_MEMBERS, opts.deadline)) {
    opts.budget.bytes -= inflated.length
    const inner = zipEntriesAnywhere(inflated, opts.limits, opts.budget, opts.deadline)
    if (inner.names.length) archives.push({ where: `${where}, gunzipped`, entries: inner.names })
  }
}
