// Large messages are scanned on a thread of their own. For mail with
// attachments the scan (decoding an archive attachment, reading its
// directory) is most of what the data plugin costs, and Haraka runs every
// connection on one thread: on the thread, a message costs Haraka's event
// loop only a copy into shared memory (in slices, between which other
// connections are served) and two messages between the threads,
// and the scan runs on another core while Haraka serves other connections.
// Small messages are scanned in place, where the hand-over would cost more
// than the scan. Both run the same function (scan.ts).
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { ContentFacts, ContentSettings, scanContent, timedOut } from './scan'
import { SizePool } from './size-pool'

export interface ScanRequest {
  id: number
  /** The message in its first `length` bytes. */
  memory: SharedArrayBuffer
  length: number
  /** Sent when they differ from the last request's: the thread keeps them. */
  settings?: ContentSettings
}

export type ScanReply = { id: number; facts: ContentFacts; error?: undefined } | { id: number; error: string; facts?: undefined }

/** Where one message is scanned. */
export interface ScanRoute {
  /** Messages of at least this many bytes go to the thread; 0: none by this rule ([scan] thread_min_bytes, while other connections are open). */
  minBytes: number
  /** Messages of at least this many bytes always go to the thread, and are never scanned in place ([scan] in_place_max_bytes; 0: none). */
  forceBytes: number
  /** How long the thread may take for one message ([scan] timeout). */
  timeoutMs: number
}

/** The thread is not there to answer: it could not start, died or was stopped. */
class ThreadDown extends Error {}

interface Pending {
  resolve(facts: ContentFacts): void
  reject(err: Error): void
  /** Set while the message is the thread's current one: the thread takes them in order. */
  timer?: NodeJS.Timeout
  memory: SharedArrayBuffer
  length: number
  settings: ContentSettings
  timeoutMs: number
}

const WORKER_FILE = join(__dirname, 'scan-worker.js')
/** After the thread could not start or crashed, it is not started again for this long. */
const RETRY_MS = 60_000
const YOUNG_MB = 8
/**
 * A scan on Haraka's own thread stops after this long and the message goes
 * to the scan thread: Haraka's event loop must never wait more than 50 ms,
 * and the deadline is read between steps, the largest of which (inflating
 * one nested archive of [attachments] max_nested_bytes) takes well under
 * the 20 ms left.
 */
export const IN_PLACE_DEADLINE_MS = 30

/**
 * Bytes copied into shared memory per turn of Haraka's event loop. A 25 MB
 * message copied at once held the loop for 20 to 40 ms on a loaded 2-core
 * machine (fresh shared memory faults in page by page); 1 MB takes about a
 * millisecond, and other connections are served between two.
 */
export const COPY_CHUNK_BYTES = 1024 * 1024

/** raw into the start of memory, COPY_CHUNK_BYTES per turn of the event loop. */
async function copyInto(memory: SharedArrayBuffer, raw: Buffer): Promise<void> {
  const view = new Uint8Array(memory, 0, raw.length)
  for (let at = 0; at < raw.length; at += COPY_CHUNK_BYTES) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    view.set(raw.subarray(at, Math.min(raw.length, at + COPY_CHUNK_BYTES)), at)
  }
}

export class ScanThread {
  private worker?: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  // Shared memory for messages, kept for the next ones like the capture's buffers.
  private readonly memory = new SizePool<SharedArrayBuffer>((size) => new SharedArrayBuffer(size), (m) => m.byteLength, 8, 4 * 1024 * 1024, 64 * 1024)
  private downUntil = 0
  /** The settings the current thread holds. */
  private sent?: ContentSettings
  /** Told the number of scans waiting for the thread (behind the one it works on) whenever it changes. */
  queueChanged?: (waiting: number) => void
  private lastQueue = 0

  /** say() is told when the thread starts and, once per failure, why it stopped. */
  constructor(
    private readonly say: (level: 'notice' | 'warn', message: string) => void,
    private readonly file = WORKER_FILE,
    private readonly inPlaceMs = IN_PLACE_DEADLINE_MS,
  ) {}

  /**
   * What the content checks judge; never rejects for anything the message
   * does. In place when the route does not send it to the thread, within
   * inPlaceMs (IN_PLACE_DEADLINE_MS); past that, on the thread. On the
   * thread, a message not finished within route.timeoutMs of the thread
   * starting on it gets the "timeout" limit and the thread is started afresh for the messages
   * behind it. While the thread is
   * down (it could not start or crashed), messages are scanned in place
   * within the deadline, except those of route.forceBytes or more, which get
   * the "timeout" limit, as does one whose scan in place passes the
   * deadline. Rejects only when the scan itself failed (a bug).
   */
  async facts(raw: Buffer, settings: ContentSettings, route: ScanRoute): Promise<ContentFacts> {
    const forced = route.forceBytes > 0 && raw.length >= route.forceBytes
    if (forced || (route.minBytes > 0 && raw.length >= route.minBytes)) return this.onThread(raw, settings, route, forced)
    const facts = scanContent(raw, settings, this.inPlaceMs)
    if (facts.limit?.name !== 'timeout') return facts
    return this.onThread(raw, settings, route, true)
  }

  /** Messages handed over and not answered yet (for tests). */
  get waiting(): number {
    return this.pending.size
  }

  /** Stops the thread; messages waiting on it are scanned as when it is down. */
  async close(): Promise<void> {
    const w = this.worker
    this.drop(new ThreadDown('closed'))
    await w?.terminate()
  }

  /** On the thread; while it is down, in place within the deadline unless `noInPlace`. */
  private async onThread(raw: Buffer, settings: ContentSettings, route: ScanRoute, noInPlace: boolean): Promise<ContentFacts> {
    if (!this.down()) {
      try {
        return await this.scan(raw, settings, route.timeoutMs)
      } catch (err) {
        if (!(err instanceof ThreadDown)) throw err
      }
    }
    if (noInPlace) return timedOut(`the scan thread is down; a message of ${raw.length} bytes is not scanned in place`)
    return scanContent(raw, settings, this.inPlaceMs)
  }

  private down(): boolean {
    return Date.now() < this.downUntil
  }

  private async scan(raw: Buffer, settings: ContentSettings, timeoutMs: number): Promise<ContentFacts> {
    // started first, so that a new thread boots while the message is copied
    this.start()
    const memory = this.memory.take(raw.length)
    await copyInto(memory, raw)
    // the thread may have been replaced, or have failed, meanwhile
    if (this.down()) throw new ThreadDown('the scan thread failed while the message was copied')
    const worker = this.start()
    const id = this.nextId++
    return new Promise<ContentFacts>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, memory, length: raw.length, settings, timeoutMs })
      this.queued()
      this.armFirst()
      this.post(worker, id, memory, raw.length, settings)
    })
  }

  private post(worker: Worker, id: number, memory: SharedArrayBuffer, length: number, settings: ContentSettings): void {
    try {
      // Copying the settings costs more than the rest of the request: sent when they change.
      const req: ScanRequest = { id, memory, length }
      if (settings !== this.sent) req.settings = settings
      worker.postMessage(req)
      this.sent = settings
    } catch (err) {
      this.fail(err)
    }
  }

  private start(): Worker {
    if (this.worker) return this.worker
    try {
      // The scan makes short-lived strings (base64 text for Node's decoder): a
      // small young generation keeps them from growing the heap by tens of MB.
      const w = new Worker(this.file, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } })
      // Haraka's own handles decide when the process may end, not this thread.
      w.unref()
      w.on('message', (reply: ScanReply) => this.answer(reply))
      w.on('error', (err) => { if (this.worker === w) this.fail(err) })
      w.on('exit', (code) => { if (this.worker === w) this.fail(new Error(`exited with code ${code}`)) })
      this.worker = w
      this.say('notice', 'content scan thread started')
      return w
    } catch (err) {
      this.fail(err)
      throw new ThreadDown(String(err))
    }
  }

  private answer(reply: ScanReply): void {
    const p = this.pending.get(reply.id)
    if (!p) return
    this.pending.delete(reply.id)
    this.queued()
    clearTimeout(p.timer)
    this.armFirst()
    this.memory.give(p.memory)
    if (reply.error !== undefined) p.reject(new Error(`content scan failed: ${reply.error}`))
    else p.resolve(reply.facts)
  }

  // Only the message the thread works on now is timed: the thread takes
  // them in the order sent, so a message waiting behind a slow one does not
  // use up its own time waiting.
  private armFirst(): void {
    const first = this.pending.entries().next()
    if (first.done || first.value[1].timer) return
    const [id, p] = first.value
    p.timer = setTimeout(() => this.timeout(id), p.timeoutMs)
  }

  // The thread is stuck on this message, which a sender can cause: the
  // message gets the "timeout" limit (scanning it in place could stop Haraka
  // for as long), and a new thread takes the messages behind it at once.
  private timeout(id: number): void {
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    this.queued()
    const why = `the scan thread did not finish a message of ${p.length} bytes within ${p.timeoutMs} ms`
    p.resolve(timedOut(why))
    this.say('warn', `content scan thread: ${why}; thread restarted`)
    const w = this.worker
    this.worker = undefined
    this.sent = undefined
    if (w) w.terminate().catch(() => undefined)
    if (!this.pending.size) return
    let worker: Worker
    try {
      worker = this.start()
    } catch {
      return // start() failed: fail() has let the waiting messages go
    }
    for (const [waiting, q] of this.pending) {
      clearTimeout(q.timer)
      q.timer = undefined
      this.post(worker, waiting, q.memory, q.length, q.settings)
    }
    this.armFirst()
  }

  // The thread could not start, or died: not a thing a sender does by
  // sending mail. Messages are scanned in place (within the deadline) for a
  // while rather than starting a thread that may fail again at once.
  private fail(err: unknown): void {
    this.downUntil = Date.now() + RETRY_MS
    const why = err instanceof Error ? err.message : String(err)
    this.say('warn', `content scan thread: ${why}; messages are scanned in place, within ${this.inPlaceMs} ms each, for the next ${RETRY_MS / 1000} s`)
    this.drop(new ThreadDown(why))
  }

  private drop(err: ThreadDown): void {
    const w = this.worker
    this.worker = undefined
    this.sent = undefined
    if (w) w.terminate().catch(() => undefined)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    this.pending.clear()
    this.queued()
  }

  // The scans handed over and not answered, but the one the thread works on.
  private queued(): void {
    const waiting = Math.max(0, this.pending.size - 1)
    if (waiting === this.lastQueue) return
    this.lastQueue = waiting
    this.queueChanged?.(waiting)
  }
}
