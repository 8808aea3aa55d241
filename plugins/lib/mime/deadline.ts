// The deadline of a scan run on Haraka's own thread. The scan loops call
// tick() once per line, part or entry; the clock is read every TICKS_PER_READ
// calls, so the check costs a counter. Past the deadline the scan stops by
// throwing ScanDeadlineError, which scanContent() catches: the message then
// goes to the scan thread, or gets the "timeout" limit.
import type { Ticker } from './types'

// A clock read costs about 40 ns; the work between two reads, a few µs.
const TICKS_PER_READ = 256

/**
 * The most bytes one step (inflating a nested archive, decoding a part) may
 * work on in place: the deadline is read only between steps, and 2 MB takes
 * a few ms; a larger step sends the message to the thread at once. Inflating
 * a nested archive of [attachments] max_nested_bytes (10 MB) took 20 to 40 ms.
 */
export const IN_PLACE_STEP_BYTES = 2 * 1024 * 1024

export class ScanDeadlineError extends Error {
  constructor(why: string) {
    super(why)
    this.name = 'ScanDeadlineError'
  }
}

export class Deadline implements Ticker {
  private ticks = 0
  private readonly at: number

  constructor(private readonly ms: number, private readonly maxStepBytes = IN_PLACE_STEP_BYTES, now = performance.now()) {
    this.at = now + ms
  }

  tick(): void {
    if (++this.ticks % TICKS_PER_READ === 0) this.check()
  }

  /** Reads the clock now: for the places that do much work per call, given the bytes the next step works on. */
  check(stepBytes = 0): void {
    if (performance.now() > this.at) throw new ScanDeadlineError(`the scan in place passed its ${this.ms} ms deadline`)
    if (stepBytes > this.maxStepBytes) throw new ScanDeadlineError(`a step of ${stepBytes} bytes is not run in place (over ${this.maxStepBytes})`)
  }
}
