// Large buffers kept for the next message instead of made anew each time:
// V8 counts new buffer memory towards its heap, so a fresh allocation per
// message brings full GCs under load. Sizes are powers of two from minBytes,
// so one kept buffer serves messages of many sizes.
//
// Kept buffers are memory a quiet node does not need: one left unused for
// idleMs is dropped (a timer that does not hold the process open), so after
// a burst of large messages the pool shrinks back by itself.

/** How long a kept one may wait unused before it is dropped. */
export const POOL_IDLE_MS = 30_000

export interface PoolClock {
  now: () => number
  /** Runs fn after ms; the returned handle is unref'd where it has unref(). */
  setTimer: (fn: () => void, ms: number) => { unref?: () => unknown }
}

const realClock: PoolClock = { now: () => performance.now(), setTimer: (fn, ms) => setTimeout(fn, ms) }

interface Kept<T> {
  item: T
  /** When it was given back (clock.now()). */
  at: number
}

export class SizePool<T> {
  /** Oldest given back first: trim() drops from the front. */
  private kept: Array<Kept<T>> = []
  private timerSet = false

  /**
   * @param make makes one of at least the size asked
   * @param maxKept how many wait to be used again at most
   * @param maxKeptBytes larger ones are made to size and not kept
   * @param idleMs a kept one unused this long is dropped
   */
  constructor(
    private readonly make: (size: number) => T,
    private readonly sizeOf: (item: T) => number,
    private readonly maxKept: number,
    private readonly maxKeptBytes: number,
    private readonly minBytes: number,
    private readonly idleMs: number = POOL_IDLE_MS,
    private readonly clock: PoolClock = realClock,
  ) {}

  /**
   * One of at least `bytes`: a kept one when there is one large enough, the
   * one given back last, so that the ones not needed grow idle and go.
   */
  take(bytes: number): T {
    for (let i = this.kept.length - 1; i >= 0; i--) {
      if (this.sizeOf(this.kept[i].item) >= bytes) return this.kept.splice(i, 1)[0].item
    }
    if (bytes > this.maxKeptBytes) return this.make(bytes)
    let size = this.minBytes
    while (size < bytes) size *= 2
    return this.make(size)
  }

  /** Done with item: kept for the next take() when there is room. */
  give(item: T): void {
    if (this.sizeOf(item) > this.maxKeptBytes || this.kept.length >= this.maxKept) return
    this.kept.push({ item, at: this.clock.now() })
    this.schedule(this.idleMs)
  }

  /** Drops the ones unused for idleMs; called by the pool's own timer. */
  trim(): void {
    const cutoff = this.clock.now() - this.idleMs
    let n = 0
    while (n < this.kept.length && this.kept[n].at <= cutoff) n++
    if (n) this.kept = this.kept.slice(n)
  }

  /** How many wait to be used again. */
  get size(): number {
    return this.kept.length
  }

  /** Bytes of the ones waiting to be used again. */
  get bytes(): number {
    return this.kept.reduce((sum, k) => sum + this.sizeOf(k.item), 0)
  }

  // One timer at a time, set while anything is kept; it fires when the
  // oldest one would be idle long enough.
  private schedule(ms: number): void {
    if (this.timerSet) return
    this.timerSet = true
    const timer = this.clock.setTimer(() => {
      this.timerSet = false
      this.trim()
      if (this.kept.length) this.schedule(Math.max(1, this.kept[0].at + this.idleMs - this.clock.now()))
    }, ms)
    timer.unref?.()
  }
}
