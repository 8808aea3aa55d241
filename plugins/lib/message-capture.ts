// The message as the client sent it, kept while it arrives. Haraka hands
// every DATA line to transaction.add_data(); copying each line as it comes
// costs a memcpy per line, where reading the message back from Haraka's
// message stream at data_post costs about 2.5 ms for 200 KB (its line
// transformer pushes each line through a stream). Lines are dot-unstuffed
// as they come (RFC 5321 4.5.2). Past maxBytes the copy is dropped and the
// message is read back from the stream instead.
//
// Memory is what this costs: keeping each line's own Buffer holds thousands
// of small objects per message until data_post, and a buffer that doubles
// as it fills allocates twice the message. So lines are copied into fixed
// chunks that are used again from message to message, and at data_post the
// message is put together once in a buffer of its exact size.
interface Capture {
  chunks: Buffer[]
  /** Bytes used in the last chunk. */
  used: number
  bytes: number
  over: boolean
  /** The message once put together (messageOf). */
  message?: Buffer
}

interface DataTransaction {
  add_data(line: Buffer | string): void
  message_stream?: { get_data(cb: (b: Buffer) => void): void }
}

export const CHUNK_BYTES = 64 * 1024
/** Chunks kept for the next messages: enough for a few large ones at a time. */
const MAX_SPARE = 32
const spare: Buffer[] = []
const DOT = 0x2e

const captures = new WeakMap<object, Capture>()

export function newCapture(): Capture {
  return { chunks: [], used: 0, bytes: 0, over: false }
}

/** How many chunks wait to be used again (for tests). */
export function spareChunks(): number {
  return spare.length
}

function release(capture: Capture): void {
  for (const chunk of capture.chunks) if (spare.length < MAX_SPARE) spare.push(chunk)
  capture.chunks = []
  capture.used = 0
}

/** Copies line (without its stuffed dot) to the end of the capture; false once past maxBytes. */
export function appendLine(capture: Capture, line: Buffer, maxBytes: number): boolean {
  let src = line[0] === DOT ? 1 : 0
  if (capture.bytes + line.length - src > maxBytes) {
    capture.over = true
    capture.bytes = 0
    release(capture)
    return false
  }
  capture.bytes += line.length - src
  while (src < line.length) {
    let chunk = capture.chunks[capture.chunks.length - 1]
    if (!chunk || capture.used === chunk.length) {
      chunk = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)
      capture.chunks.push(chunk)
      capture.used = 0
    }
    const n = Math.min(line.length - src, chunk.length - capture.used)
    // TypedArray#set: cheaper per line than Buffer#copy
    chunk.set(src === 0 && n === line.length ? line : line.subarray(src, src + n), capture.used)
    capture.used += n
    src += n
  }
  return true
}

/** The captured bytes in one buffer of their size; the chunks go back for the next message. */
export function assemble(capture: Capture): Buffer {
  if (capture.message) return capture.message
  const message = Buffer.allocUnsafe(capture.bytes)
  let at = 0
  capture.chunks.forEach((chunk, i) => {
    const n = i === capture.chunks.length - 1 ? capture.used : chunk.length
    message.set(n === chunk.length ? chunk : chunk.subarray(0, n), at)
    at += n
  })
  release(capture)
  capture.message = message
  return message
}

export function startCapture(txn: DataTransaction, maxBytes: number): void {
  if (captures.has(txn) || typeof txn.add_data !== 'function') return
  const capture = newCapture()
  captures.set(txn, capture)
  const original = txn.add_data
  txn.add_data = function (this: DataTransaction, line: Buffer | string): void {
    if (!capture.over && !capture.message) appendLine(capture, typeof line === 'string' ? Buffer.from(line) : line, maxBytes)
    return original.call(this, line)
  }
}

/** The captured message, or Haraka's copy when there is none (or it grew too large). */
export function messageOf(txn: DataTransaction): Promise<Buffer> {
  const capture = captures.get(txn)
  if (capture && !capture.over) return Promise.resolve(assemble(capture))
  return new Promise((resolve, reject) => {
    if (!txn.message_stream) return reject(new Error('no message stream'))
    txn.message_stream.get_data((buf: Buffer) => resolve(buf))
  })
}
