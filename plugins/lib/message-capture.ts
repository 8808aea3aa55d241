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
// message is put together once in a buffer of its exact size. Haraka's
// lines are views of the block read from the socket, one after the other,
// so a run of them is copied at once, when the run ends.
import { SizePool } from './size-pool'

interface Capture {
  chunks: Buffer[]
  /** Bytes used in the last chunk. */
  used: number
  /** Lines not copied yet: a view of their memory, extended while the next line follows on. */
  run?: { memory: ArrayBufferLike; start: number; end: number }
  bytes: number
  over: boolean
  /** The message once put together (messageOf). */
  message?: Buffer
  /** The pooled buffer the message is a view of, until releaseMessage(). */
  backing?: Buffer
  /** Past this many bytes the copy is dropped (the message is read back from Haraka's stream). */
  maxBytes: number
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

// The assembled message is the one large allocation per message left, and
// V8 counts new buffer memory towards its heap: at 200 KB a message, that
// alone brought several times bare Haraka's full GCs. So messages up to
// 4 MB are assembled in buffers kept for the next ones, handed back by
// releaseMessage() when the checks are done.
const pool = new SizePool<Buffer>((size) => Buffer.allocUnsafeSlow(size), (b) => b.length, 16, 4 * 1024 * 1024, CHUNK_BYTES)

/** Buffers waiting to be used again (for tests). */
export function pooledBuffers(): number {
  return pool.size
}

export function newCapture(maxBytes: number): Capture {
  return { chunks: [], used: 0, bytes: 0, over: false, maxBytes }
}

/** How many chunks wait to be used again (for tests). */
export function spareChunks(): number {
  return spare.length
}

/** Copies bytes to the end of the chunks. */
function copyIn(capture: Capture, bytes: Uint8Array): void {
  let src = 0
  while (src < bytes.length) {
    let chunk = capture.chunks[capture.chunks.length - 1]
    if (!chunk || capture.used === chunk.length) {
      chunk = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)
      capture.chunks.push(chunk)
      capture.used = 0
    }
    const n = Math.min(bytes.length - src, chunk.length - capture.used)
    chunk.set(src === 0 && n === bytes.length ? bytes : bytes.subarray(src, src + n), capture.used)
    capture.used += n
    src += n
  }
}

function flush(capture: Capture): void {
  const run = capture.run
  if (!run) return
  capture.run = undefined
  copyIn(capture, new Uint8Array(run.memory, run.start, run.end - run.start))
}

function release(capture: Capture): void {
  capture.run = undefined
  for (const chunk of capture.chunks) if (spare.length < MAX_SPARE) spare.push(chunk)
  capture.chunks = []
  capture.used = 0
}

/** Adds line (without its stuffed dot) to the end of the capture; false once past its maxBytes. */
export function appendLine(capture: Capture, line: Buffer): boolean {
  const from = line[0] === DOT ? 1 : 0
  if (capture.bytes + line.length - from > capture.maxBytes) {
    capture.over = true
    capture.bytes = 0
    release(capture)
    return false
  }
  capture.bytes += line.length - from
  const start = line.byteOffset + from
  const end = line.byteOffset + line.length
  const run = capture.run
  // Lines are never written to once read, so their bytes can wait for the run to end.
  if (run && run.memory === line.buffer && run.end === start) {
    run.end = end
    return true
  }
  flush(capture)
  if (end > start) capture.run = { memory: line.buffer, start, end }
  return true
}

/** The captured bytes in one buffer of their size; the chunks go back for the next message. */
export function assemble(capture: Capture): Buffer {
  if (capture.message) return capture.message
  flush(capture)
  const backing = pool.take(capture.bytes)
  const message = backing.subarray(0, capture.bytes)
  capture.backing = backing
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

type AddData = (this: DataTransaction, line: Buffer | string) => void

/** Haraka's add_data wrapped: the capture's copy first, then Haraka's own. */
function capturing(original: AddData): AddData {
  return function (this: DataTransaction, line: Buffer | string): void {
    const capture = captures.get(this)
    if (capture && !capture.over && !capture.message) appendLine(capture, typeof line === 'string' ? Buffer.from(line) : line)
    return original.call(this, line)
  }
}

/** Prototypes whose add_data already copies (once per process). */
const wrapped = new WeakSet<object>()

export function startCapture(txn: DataTransaction, maxBytes: number): void {
  if (captures.has(txn) || typeof txn.add_data !== 'function') return
  const capture = newCapture(maxBytes)
  captures.set(txn, capture)
  // Haraka's transactions share add_data through their class: wrapped there,
  // once. A function of its own on each transaction would give every one a
  // hidden class of its own and make Haraka's per-line call site see a new
  // function for every message, which V8 cannot inline.
  let owner: object | null = txn
  while (owner && !Object.hasOwn(owner, 'add_data')) owner = Object.getPrototypeOf(owner) as object | null
  if (!owner) return
  if (owner === txn) {
    // add_data is the object's own (not a Haraka transaction): wrapped on it.
    txn.add_data = capturing(txn.add_data)
    return
  }
  if (wrapped.has(owner)) return
  const proto = owner as { add_data: AddData }
  proto.add_data = capturing(proto.add_data)
  wrapped.add(owner)
}

/**
 * Done with the message: its buffer goes back for the next one. The Buffer
 * messageOf() gave must not be used after this.
 */
export function releaseMessage(txn: object): void {
  const capture = captures.get(txn)
  if (!capture) return
  const backing = capture.backing
  capture.backing = undefined
  capture.message = undefined
  // Asked again, the message comes from Haraka's own copy.
  capture.over = true
  if (backing) pool.give(backing)
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
