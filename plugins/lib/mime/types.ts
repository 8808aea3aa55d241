// The shapes the MIME scanner hands to the DATA checks. Offsets are byte
// positions into the raw message as received, so a check can decode exactly
// the one part it needs and nothing else.

export interface MimePart {
  /**
   * "" for the message itself, "1", "1.2", ... for the parts of a multipart.
   * A message/rfc822 part has one child, the attached message (path "p.1"),
   * whose own parts continue from there ("p.1.1", ...).
   */
  path: string
  /** Containers (multipart or message/rfc822) above this part: 0 for the message itself. */
  depth: number
  /** Lower-case "type/subtype"; text/plain when absent or invalid (RFC 2045 5.2), message/rfc822 inside multipart/digest (RFC 2046 5.1.5). */
  contentType: string
  /** Content-Type parameters: lower-case names, values decoded (RFC 2231, RFC 2047); boundary as sent. */
  params: Record<string, string>
  /** Lower-case disposition type ("attachment", "inline"), when the part has a Content-Disposition (RFC 2183). */
  disposition?: string
  dispositionParams: Record<string, string>
  /**
   * Every file name the part carries, decoded and cleaned (control characters
   * removed, trailing dots and spaces removed), each once: name= and
   * filename= of every Content-Type and Content-Disposition field (a
   * repeated field's names too), both the RFC 2231 and
   * the plain forms when a mailer sent both, and the names of uuencoded files
   * in a text/plain body.
   */
  filenames: string[]
  /** Content-Transfer-Encoding, lower-case; 7bit when absent (RFC 2045 6.1). */
  encoding: string
  /**
   * Set only when the part repeats Content-Transfer-Encoding with different
   * values: each distinct value, in order, the first being `encoding`; at
   * most the first 4 fields are read. Clients disagree on which one counts.
   */
  encodings?: string[]
  headerStart: number
  bodyStart: number
  bodyEnd: number
  /** True when the part was scanned as a multipart container: its parts follow it in the list. */
  isMultipart: boolean
}

/** A limit a sender can reach: the scan stopped short of part of the message. */
export type LimitName = 'parts' | 'depth' | 'header' | 'messages' | 'timeout' | 'memory' | 'readings'

export interface ScanLimit {
  name: LimitName
  /** For the log: where and what. */
  detail: string
}

/** Reads the clock now and then inside the scan loops; throws ScanDeadlineError past the deadline (see deadline.ts). */
export interface Ticker {
  /** Once per line, part or entry: cheap. */
  tick(): void
  /** Before a step that does much work at once (inflating, decoding a part), given the bytes it works on. */
  check(stepBytes?: number): void
}

export interface ScanLimits {
  /** Parts recorded at most; the rest of the message is still walked but not split further. */
  maxParts: number
  /** Deepest part recorded; a container at this depth is kept as one opaque part. */
  maxDepth: number
  /** Bytes of one header section (a part's or the message's own, folded lines included) kept; the rest is cut. */
  maxHeaderBytes: number
  /** The in-place scan's deadline, when it has one. */
  deadline?: Ticker
}

export type MimeProblemKind =
  | 'too-many-parts'
  | 'too-deep'
  | 'header-too-long'
  | 'unterminated-multipart'
  | 'no-boundary'
  | 'bad-header'

export interface MimeProblem {
  kind: MimeProblemKind
  detail: string
}

export interface MimeScan {
  /** In document order; parts[0] is the message itself. */
  parts: MimePart[]
  /** Limits hit or structure broken, the first occurrence of each kind; the scan still returns what it found. */
  problems: MimeProblem[]
  /** The first limit reached: part of the message was not looked at. */
  limit?: ScanLimit
  /**
   * Signs that MIME parsers could read the message differently (a repeated
   * or odd field, a stray "--" line, text after a close delimiter, ...), at
   * most MAX_SIGNS, the first of each kind; empty on ordinary mail. The
   * content scan then reads the message every plausible way
   * (content/readings).
   */
  signs: string[]
}
