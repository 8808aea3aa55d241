// Large messages are scanned on a thread of their own. For mail with
// attachments the scan (decoding an archive attachment, reading its
// directory) is most of what the data plugin costs, and Haraka runs every
// connection on one thread: on the thread, a message costs Haraka's event
// loop only a copy into shared memory and two messages between the threads,
// and the scan runs on another core while Haraka serves other connections.
// Small messages are scanned in place, where the hand-over would cost more
// than the scan. Both run the same function (content-scan.ts).
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { ContentFacts, ContentSettings, scanContent } from './content-scan'
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

/** The thread is not there to answer: it could not start, died or was stopped. */
class ThreadDown extends Error {}

interface Pending {
  resolve(facts: ContentFacts): void
  reject(err: Error): void
  timer: NodeJS.Timeout
  memory: SharedArrayBuffer
}

const WORKER_FILE = join(__dirname, 'scan-worker.js')
/** After the thread failed, messages are scanned in place this long before it is started again. */
const RETRY_MS = 60_000
const YOUNG_MB = 8

export class ScanThread {
  private worker?: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  // Shared memory for messages, kept for the next ones like the capture's buffers.
  private readonly memory = new SizePool<SharedArrayBuffer>((size) => new SharedArrayBuffer(size), (m) => m.byteLength, 8, 4 * 1024 * 1024, 64 * 1024)
  private downUntil = 0
  /** The settings the current thread holds. */
  private sent?: ContentSettings

  /** say() is told when the thread starts and, once per failure, why it stopped. */
  constructor(private readonly say: (level: 'notice' | 'warn', message: string) => void, private readonly file = WORKER_FILE) {}

  /**
   * What the content checks judge. On the thread when raw has at least
   * minBytes (0: never) and the thread is up; in place otherwise, and for the
   * messages that were waiting on a thread that failed. A message the thread
   * did not finish within timeoutMs is not scanned again: the promise rejects,
   * as a scan in place that throws would.
   */
  async facts(raw: Buffer, settings: ContentSettings, minBytes: number, timeoutMs: number): Promise<ContentFacts> {
    if (minBytes <= 0 || raw.length < minBytes || Date.now() < this.downUntil) return scanContent(raw, settings)
    try {
      return await this.scan(raw, settings, timeoutMs)
    } catch (err) {
      if (err instanceof ThreadDown) return scanContent(raw, settings)
      throw err
    }
  }

  /** Messages handed over and not answered yet (for tests). */
  get waiting(): number {
    return this.pending.size
  }

  /** Stops the thread; messages waiting on it are scanned in place. */
  async close(): Promise<void> {
    const w = this.worker
    this.drop(new ThreadDown('closed'))
    await w?.terminate()
  }

  private scan(raw: Buffer, settings: ContentSettings, timeoutMs: number): Promise<ContentFacts> {
    const worker = this.start()
    const memory = this.memory.take(raw.length)
    new Uint8Array(memory, 0, raw.length).set(raw)
    const id = this.nextId++
    return new Promise<ContentFacts>((resolve, reject) => {
      const timer = setTimeout(() => this.timeout(id, timeoutMs), timeoutMs)
      this.pending.set(id, { resolve, reject, timer, memory })
      try {
        // Copying the settings costs more than the rest of the request: sent when they change.
        const req: ScanRequest = { id, memory, length: raw.length }
        if (settings !== this.sent) req.settings = settings
        worker.postMessage(req)
        this.sent = settings
      } catch (err) {
        this.fail(err)
      }
    })
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
    clearTimeout(p.timer)
    this.memory.give(p.memory)
    if (reply.error !== undefined) p.reject(new Error(`content scan failed: ${reply.error}`))
    else p.resolve(reply.facts)
  }

  // The thread is stuck on this message: it is stopped; the message is not
  // scanned again (in place it would stop Haraka), the ones behind it are.
  private timeout(id: number, ms: number): void {
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    const why = `the scan thread did not finish a message within ${ms} ms`
    p.reject(new Error(why))
    this.fail(new Error(why))
  }

  private fail(err: unknown): void {
    this.downUntil = Date.now() + RETRY_MS
    const why = err instanceof Error ? err.message : String(err)
    this.say('warn', `content scan thread: ${why}; messages are scanned in place for the next ${RETRY_MS / 1000} s`)
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
  }
}
