// The deadline of a scan run on Haraka's own thread. The scan loops call
// tick() once per line, part or entry; the clock is read every TICKS_PER_READ
// calls, so the check costs a counter. Past the deadline the scan stops by
// throwing ScanDeadlineError, which scanContent() catches: the message then
// goes to the scan thread, or gets the "timeout" limit.
import type { Ticker } from './types'

// A clock read costs about 40 ns; the work between two reads, a few µs.
const TICKS_PER_READ = 256

export class ScanDeadlineError extends Error {
  constructor(ms: number) {
    super(`the scan in place passed its ${ms} ms deadline`)
    this.name = 'ScanDeadlineError'
  }
}

export class Deadline implements Ticker {
  private ticks = 0
  private readonly at: number

  constructor(private readonly ms: number, now = performance.now()) {
    this.at = now + ms
  }

  tick(): void {
    if (++this.ticks % TICKS_PER_READ === 0) this.check()
  }

  /** Reads the clock now: for the places that do much work per call. */
  check(): void {
    if (performance.now() > this.at) throw new ScanDeadlineError(this.ms)
  }
}
