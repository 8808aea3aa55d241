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
//
// The memory all of this holds is bounded: every byte kept (captures under
// way, assembled messages, messages read back from the stream) is counted
// by its MessageCapture until it is given back, and a message that would
// take the count past the budget ([scan] max_kept_bytes) is not kept:
// messageOf() rejects with MemoryBudgetExceeded, which the data plugin
// answers with a deferral. The count is given back by releaseMessage(), or
// when the transaction ends without one (RSET, a timeout, a disconnect
// mid-DATA: Haraka destroys the transaction's message stream on every
// reset). The data plugin makes one MessageCapture in register(), and
// Haraka loads a plugin once per process: the budget is the process's.
import { SizePool } from '../content/size-pool'

/** [scan] max_kept_bytes when a capture is started without one (the setting's default). */
export const DEFAULT_MAX_KEPT_BYTES = 256 * 1024 * 1024

/** The message was not kept: the memory for messages in scan is used up. */
export class MemoryBudgetExceeded extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MemoryBudgetExceeded'
  }
}

interface Capture {
  chunks: Buffer[]
  /** Bytes used in the last chunk. */
  used: number
  /** Lines not copied yet: a view of their memory, extended while the next line follows on. */
  run?: { memory: ArrayBufferLike; start: number; end: number }
  bytes: number
  /** Lines are no longer copied (past maxBytes, refused, released or ended). */
  over: boolean
  /** Set when the budget ran out: why the message cannot be had. */
  refused?: string
  /** Bytes this capture counts in its MessageCapture's total now. */
  held: number
  /** The message once put together (messageOf). */
  message?: Buffer
  /** The pooled buffer the message is a view of, until releaseMessage(). */
  backing?: Buffer
  /** Past this many bytes the copy is dropped (the message is read back from Haraka's stream). */
  maxBytes: number
  /** Bytes all messages of its MessageCapture may hold together. */
  budget: number
  /** What counts this capture's bytes and lends its chunks and message buffer. */
  readonly keeper: MessageCapture
  /** Stops a read of Haraka's stream under way (the transaction ended, or the message was released). */
  cancelRead?: (why: Error) => void
}

interface MessageStream {
  get_data(cb: (b: Buffer) => void): void
  destroy?: () => void
}

interface DataTransaction {
  add_data(line: Buffer | string): void
  message_stream?: MessageStream
  /** Bytes Haraka received for the message (its own count). */
  data_bytes?: number
}

export const CHUNK_BYTES = 64 * 1024
/** Chunks kept for the next messages: enough for a few large ones at a time. */
const MAX_SPARE = 32
const DOT = 0x2e

// Haraka's add_data and the stream's destroy() are wrapped on their shared
// prototype, once per process (wrapMethod), so the wrappers find a
// transaction's capture in these process-wide maps, not on a MessageCapture:
// a prototype wrapper cannot know which instance started the capture. Each
// capture points at its MessageCapture (keeper), which holds the count, the
// budget and the pools. A transaction is captured by one MessageCapture.
const captures = new WeakMap<object, Capture>()
/** A transaction's message stream to its capture: the stream's destroy() ends the capture. */
const byStream = new WeakMap<object, Capture>()

/** Nothing left to give back: counted bytes, buffers or a read under way. */
function finished(capture: Capture): boolean {
  return capture.over && capture.held === 0 && !capture.backing && !capture.cancelRead
}

/**
 * The messages one data plugin instance keeps as they arrive: their byte
 * count against the budget, the chunks and message buffers used again from
 * message to message, and the captures of each connection.
 */
export class MessageCapture {
  /** Bytes of messages held now, all captures of this instance together. */
  private kept = 0
  /** The budget of the capture started last, for reads of transactions never captured. */
  private lastBudget = DEFAULT_MAX_KEPT_BYTES

  // Chunks kept for the next messages; dropped when unused for a while (size-pool.ts).
  private readonly spare = new SizePool<Buffer>((size) => Buffer.allocUnsafeSlow(size), (b) => b.length, MAX_SPARE, CHUNK_BYTES, CHUNK_BYTES)

  // The assembled message is the one large allocation per message left, and
  // V8 counts new buffer memory towards its heap: at 200 KB a message, that
  // alone brought several times bare Haraka's full GCs. So messages up to
  // 4 MB are assembled in buffers kept for the next ones, handed back by
  // releaseMessage() when the checks are done.
  private readonly pool = new SizePool<Buffer>((size) => Buffer.allocUnsafeSlow(size), (b) => b.length, 16, 4 * 1024 * 1024, CHUNK_BYTES)

  // A transaction dropped without its stream destroyed (Haraka skips that when
  // a second reset overtakes the first) gives its bytes back when its
  // connection ends (releaseOwner, from the disconnect hook). Its buffers are
  // not pooled then: nothing says who reads them last. (A FinalizationRegistry
  // entry per transaction would do it at collection time, but made the bench's
  // 200 KB case a fifth slower: V8 pays for every registered object in each GC.)
  private readonly byOwner = new WeakMap<object, Capture[]>()

  /** Captures remembered under owner (for tests). */
  ownedCaptures(owner: object): number {
    return this.byOwner.get(owner)?.length ?? 0
  }

  /**
   * The owner (a connection) has ended: every capture it started gives its
   * bytes back. Buffers still handed out are left to the collector, not pooled.
   */
  releaseOwner(owner: object): void {
    const list = this.byOwner.get(owner)
    if (!list) return
    this.byOwner.delete(owner)
    for (const capture of list) this.releaseCapture(capture, false)
  }

  /** Bytes of messages held now (for tests and the log). */
  keptBytes(): number {
    return this.kept
  }

  /** Buffers waiting to be used again (for tests). */
  pooledBuffers(): number {
    return this.pool.size
  }

  /** How many chunks wait to be used again (for tests). */
  spareChunks(): number {
    return this.spare.size
  }

  newCapture(maxBytes: number, budget = DEFAULT_MAX_KEPT_BYTES): Capture {
    return { chunks: [], used: 0, bytes: 0, over: false, held: 0, maxBytes, budget, keeper: this }
  }

  /**
   * Adds line (without its stuffed dot) to the end of the capture; false once
   * past its maxBytes, or when this instance holds its budget of message bytes.
   */
  appendLine(capture: Capture, line: Buffer): boolean {
    const from = line[0] === DOT ? 1 : 0
    const n = line.length - from
    if (capture.bytes + n > capture.maxBytes) {
      this.drop(capture)
      return false
    }
    if (this.kept + n > capture.budget) {
      capture.refused = this.overBudget(capture, capture.bytes + n)
      this.drop(capture)
      return false
    }
    capture.bytes += n
    capture.held += n
    this.kept += n
    const start = line.byteOffset + from
    const end = line.byteOffset + line.length
    const run = capture.run
    // Lines are never written to once read, so their bytes can wait for the run to end.
    if (run && run.memory === line.buffer && run.end === start) {
      run.end = end
      return true
    }
    this.flush(capture)
    if (end > start) capture.run = { memory: line.buffer, start, end }
    return true
  }

  /** The captured bytes in one buffer of their size; the chunks go back for the next message. */
  assemble(capture: Capture): Buffer {
    if (capture.message) return capture.message
    this.flush(capture)
    const backing = this.pool.take(capture.bytes)
    const message = backing.subarray(0, capture.bytes)
    capture.backing = backing
    let at = 0
    capture.chunks.forEach((chunk, i) => {
      const n = i === capture.chunks.length - 1 ? capture.used : chunk.length
      message.set(n === chunk.length ? chunk : chunk.subarray(0, n), at)
      at += n
    })
    this.release(capture)
    capture.message = message
    return message
  }

  /**
   * Done with the capture: its chunks and message buffer go back for the next
   * message, and its bytes to the budget. Asked again, the message comes
   * from Haraka's own copy. reuse=false: the message buffer may still be
   * read by someone, so it is left to the collector rather than pooled.
   */
  releaseCapture(capture: Capture, reuse = true): void {
    const backing = capture.backing
    capture.backing = undefined
    capture.message = undefined
    capture.over = true
    this.release(capture)
    this.giveBack(capture)
    if (backing && reuse) this.pool.give(backing)
  }

  /**
   * Keeps the transaction's message as it arrives, up to maxBytes; maxKeptBytes
   * is the budget of all messages of this instance together ([scan] max_kept_bytes).
   * owner (the connection) is handed to releaseOwner() when it ends.
   */
  startCapture(txn: DataTransaction, maxBytes: number, maxKeptBytes = DEFAULT_MAX_KEPT_BYTES, owner?: object): void {
    if (captures.has(txn) || typeof txn.add_data !== 'function') return
    this.lastBudget = maxKeptBytes
    this.track(txn, this.newCapture(maxBytes, maxKeptBytes), owner)
    wrapMethod<AddData>(txn, 'add_data', capturing)
  }

  /**
   * Done with the message: its buffer goes back for the next one, its bytes to
   * the budget. The Buffer messageOf() gave must not be used after this.
   */
  releaseMessage(txn: object): void {
    const capture = captures.get(txn)
    if (capture) capture.keeper.releaseCapture(capture)
  }

  /**
   * The captured message, or Haraka's copy when there is none (or it grew past
   * its maxBytes). Rejects with MemoryBudgetExceeded when the budget did not
   * allow keeping it.
   */
  messageOf(txn: DataTransaction, owner?: object): Promise<Buffer> {
    let capture = captures.get(txn)
    if (capture?.refused) return Promise.reject(new MemoryBudgetExceeded(capture.refused))
    if (capture && !capture.over) return Promise.resolve(capture.keeper.assemble(capture))
    if (!capture) {
      capture = this.newCapture(0, this.lastBudget)
      capture.over = true
      this.track(txn, capture, owner)
    }
    return capture.keeper.readStream(txn, capture)
  }

  /** Remembers capture under its owner (the connection), dropping the owner's finished ones. */
  private own(owner: object | undefined, capture: Capture): void {
    if (!owner) return
    const list = this.byOwner.get(owner)
    if (!list) {
      this.byOwner.set(owner, [capture])
      return
    }
    let n = 0
    for (const c of list) if (!finished(c)) list[n++] = c
    list.length = n
    list.push(capture)
  }

  /** Why a message of `bytes` is not kept, for the log. */
  private overBudget(capture: Capture, bytes: number): string {
    return `the messages in scan would pass [scan] max_kept_bytes ${capture.budget}: ${this.kept - capture.held} bytes held by others, this one ${bytes}`
  }

  private giveBack(capture: Capture): void {
    this.kept -= capture.held
    capture.held = 0
    if (capture.cancelRead) capture.cancelRead(new Error('message released'))
  }

  /** Copies bytes to the end of the chunks. */
  private copyIn(capture: Capture, bytes: Uint8Array): void {
    let src = 0
    while (src < bytes.length) {
      let chunk = capture.chunks[capture.chunks.length - 1]
      if (!chunk || capture.used === chunk.length) {
        chunk = this.spare.take(CHUNK_BYTES)
        capture.chunks.push(chunk)
        capture.used = 0
      }
      const n = Math.min(bytes.length - src, chunk.length - capture.used)
      chunk.set(src === 0 && n === bytes.length ? bytes : bytes.subarray(src, src + n), capture.used)
      capture.used += n
      src += n
    }
  }

  private flush(capture: Capture): void {
    const run = capture.run
    if (!run) return
    capture.run = undefined
    this.copyIn(capture, new Uint8Array(run.memory, run.start, run.end - run.start))
  }

  /** The chunks go back for the next message. */
  private release(capture: Capture): void {
    capture.run = undefined
    for (const chunk of capture.chunks) this.spare.give(chunk)
    capture.chunks = []
    capture.used = 0
  }

  /** Stops copying: the chunks and their count go back. */
  private drop(capture: Capture): void {
    capture.over = true
    capture.bytes = 0
    this.release(capture)
    this.giveBack(capture)
  }

  /** Follows the transaction's end, so that its bytes go back whatever happens. */
  private track(txn: DataTransaction, capture: Capture, owner: object | undefined): void {
    captures.set(txn, capture)
    this.own(owner, capture)
    const stream = txn.message_stream
    if (stream && typeof stream.destroy === 'function') {
      byStream.set(stream, capture)
      wrapMethod<Destroy>(stream, 'destroy', ending)
    }
  }

  /**
   * Haraka's copy of the message, counted like a capture: the read holds the
   * whole message at once. Counted at Haraka's size for it before reading.
   */
  private readStream(txn: DataTransaction, capture: Capture): Promise<Buffer> {
    const stream = txn.message_stream
    if (!stream) return Promise.reject(new Error('no message stream'))
    const size = txn.data_bytes ?? 0
    if (this.kept + size > capture.budget) return Promise.reject(new MemoryBudgetExceeded(this.overBudget(capture, size)))
    capture.held += size
    this.kept += size
    return new Promise((resolve, reject) => {
      let done = false
      capture.cancelRead = (why) => {
        done = true
        capture.cancelRead = undefined
        reject(why)
      }
      stream.get_data((buf: Buffer) => {
        if (done) return
        capture.cancelRead = undefined
        // Counted at the size read, which Haraka's count only approaches.
        capture.held += buf.length - size
        this.kept += buf.length - size
        resolve(buf)
      })
    })
  }
}

type AddData = (this: DataTransaction, line: Buffer | string) => void
type Destroy = (this: object) => void

/** Haraka's add_data wrapped: the capture's copy first, then Haraka's own. */
function capturing(original: AddData): AddData {
  return function (this: DataTransaction, line: Buffer | string): void {
    const capture = captures.get(this)
    if (capture && !capture.over && !capture.message) capture.keeper.appendLine(capture, typeof line === 'string' ? Buffer.from(line) : line)
    return original.call(this, line)
  }
}

// Haraka destroys a transaction's message stream when the transaction ends,
// whichever way it ends. A message handed out by messageOf() stays counted
// until releaseMessage(): the checks may still be reading it.
function ending(original: Destroy): Destroy {
  return function (this: object): void {
    const capture = byStream.get(this)
    if (capture) {
      byStream.delete(this)
      capture.over = true
      capture.cancelRead?.(new Error('transaction ended'))
      if (!capture.message) capture.keeper.releaseCapture(capture)
    }
    return original.call(this)
  }
}

/** Objects whose method was wrapped already, by method name (once per process). */
const wrapped = { add_data: new WeakSet<object>(), destroy: new WeakSet<object>() }

/**
 * Wraps obj's method where it is defined: on the object itself when it is
 * its own (not a Haraka transaction). Haraka's transactions (and streams)
 * share theirs through their class: wrapped there, once. A function
 * of its own on each object would give every one a hidden class of its own
 * and make Haraka's per-line call site see a new function for every message,
 * which V8 cannot inline.
 */
function wrapMethod<F>(obj: object, name: 'add_data' | 'destroy', wrap: (original: F) => F): void {
  let owner: object | null = obj
  while (owner && !Object.hasOwn(owner, name)) owner = Object.getPrototypeOf(owner) as object | null
  if (!owner || wrapped[name].has(owner)) return
  const holder = owner as Record<typeof name, F>
  holder[name] = wrap(holder[name])
  wrapped[name].add(owner)
}
