// The message cut at every line that starts with "--", whatever the
// declared boundaries: each stretch between two such lines is what some
// reading of the boundary (quotes, escapes, RFC 2231, UTF-16, a delimiter
// that only starts with the boundary, one after a bare CR) would make a
// part, headers and body together. A line starts after LF or after a bare
// CR, as the most lenient parsers read them.
import { CR, LF } from '../../mime/lines'
import type { Ticker } from '../../mime/types'

export interface Segment {
  start: number
  end: number
  /** The "--" line before it, cut short, for the log; "" for the first. */
  after: string
}

const DASHES = Buffer.from('--')

/**
 * The stretches of raw[start, end) between lines that start with "--", at
 * most max: past that, the last one runs to the end. One indexOf per "--"
 * in the text.
 */
export function dashSegments(raw: Buffer, start: number, end: number, max: number, deadline?: Ticker): Segment[] {
  const out: Segment[] = []
  let from = start
  let after = ''
  for (let at = raw.indexOf(DASHES, start); at >= 0 && at < end - 1; at = raw.indexOf(DASHES, at + 2)) {
    deadline?.tick()
    const before = raw[at - 1]
    if (at > start && before !== LF && before !== CR) continue
    if (out.length >= max - 1) break
    if (at > from) out.push({ start: from, end: at, after })
    // the line runs to its LF or to a bare CR
    let lineEnd = at + 2
    while (lineEnd < end && raw[lineEnd] !== LF && raw[lineEnd] !== CR) lineEnd++
    after = raw.toString('latin1', at, Math.min(lineEnd, at + 72))
    from = lineEnd < end && raw[lineEnd] === CR && raw[lineEnd + 1] === LF ? lineEnd + 2 : lineEnd + 1
    at = Math.max(at, from - 2)
  }
  if (from < end) out.push({ start: from, end, after })
  return out
}
