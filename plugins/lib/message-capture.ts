// The message as the client sent it, kept while it arrives. Haraka hands
// every DATA line to transaction.add_data(); copying each line into one
// growing buffer costs a memcpy per line, where reading the message back
// from Haraka's message stream at data_post costs about 2.5 ms for 200 KB
// (its line transformer pushes each line through a stream). Keeping the
// line buffers themselves instead would hold thousands of small objects per
// message until data_post (each one surviving young-generation collections)
// and still need a concatenation. Lines are dot-unstuffed as they come
// (RFC 5321 4.5.2). Past maxBytes the copy is dropped and the message is
// read back from the stream instead.
interface Capture {
  buf: Buffer
  bytes: number
  over: boolean
}

interface DataTransaction {
  add_data(line: Buffer | string): void
  message_stream?: { get_data(cb: (b: Buffer) => void): void }
}

/** First size of the buffer: a typical small message fits without growing. */
export const INITIAL_CAPTURE_BYTES = 16 * 1024
const EMPTY = Buffer.alloc(0)
const DOT = 0x2e

const captures = new WeakMap<object, Capture>()

/** Copies line (without its stuffed dot) to the end of the capture, doubling the buffer when full; false once past maxBytes. */
export function appendLine(capture: Capture, line: Buffer, maxBytes: number): boolean {
  const from = line[0] === DOT ? 1 : 0
  const need = capture.bytes + line.length - from
  if (need > maxBytes) {
    capture.over = true
    capture.buf = EMPTY
    capture.bytes = 0
    return false
  }
  if (need > capture.buf.length) {
    // Never allocated beyond maxBytes; uninitialized memory is fine, as only [0, bytes) is ever read.
    const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(need, capture.buf.length * 2, INITIAL_CAPTURE_BYTES)))
    capture.buf.copy(grown, 0, 0, capture.bytes)
    capture.buf = grown
  }
  capture.bytes += line.copy(capture.buf, capture.bytes, from)
  return true
}

export function newCapture(): Capture {
  return { buf: EMPTY, bytes: 0, over: false }
}

export function startCapture(txn: DataTransaction, maxBytes: number): void {
  if (captures.has(txn) || typeof txn.add_data !== 'function') return
  const capture = newCapture()
  captures.set(txn, capture)
  const original = txn.add_data
  txn.add_data = function (this: DataTransaction, line: Buffer | string): void {
    if (!capture.over) appendLine(capture, typeof line === 'string' ? Buffer.from(line) : line, maxBytes)
    return original.call(this, line)
  }
}

/** The captured message (a view of the capture buffer, not a copy), or Haraka's copy when there is none (or it grew too large). */
export function messageOf(txn: DataTransaction): Promise<Buffer> {
  const capture = captures.get(txn)
  if (capture && !capture.over) return Promise.resolve(capture.buf.subarray(0, capture.bytes))
  return new Promise((resolve, reject) => {
    if (!txn.message_stream) return reject(new Error('no message stream'))
    txn.message_stream.get_data((buf: Buffer) => resolve(buf))
  })
}
