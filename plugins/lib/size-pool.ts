// Large buffers kept for the next message instead of made anew each time:
// V8 counts new buffer memory towards its heap, so a fresh allocation per
// message brings full GCs under load. Sizes are powers of two from minBytes,
// so one kept buffer serves messages of many sizes.
export class SizePool<T> {
  private readonly kept: T[] = []

  /**
   * @param make makes one of at least the size asked
   * @param maxKept how many wait to be used again at most
   * @param maxKeptBytes larger ones are made to size and not kept
   */
  constructor(
    private readonly make: (size: number) => T,
    private readonly sizeOf: (item: T) => number,
    private readonly maxKept: number,
    private readonly maxKeptBytes: number,
    private readonly minBytes: number,
  ) {}

  /** One of at least `bytes`: a kept one when there is one large enough. */
  take(bytes: number): T {
    const i = this.kept.findIndex((item) => this.sizeOf(item) >= bytes)
    if (i >= 0) return this.kept.splice(i, 1)[0]
    if (bytes > this.maxKeptBytes) return this.make(bytes)
    let size = this.minBytes
    while (size < bytes) size *= 2
    return this.make(size)
  }

  /** Done with item: kept for the next take() when there is room. */
  give(item: T): void {
    if (this.sizeOf(item) <= this.maxKeptBytes && this.kept.length < this.maxKept) this.kept.push(item)
  }

  /** How many wait to be used again. */
  get size(): number {
    return this.kept.length
  }
}
