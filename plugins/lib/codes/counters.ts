// Per-code counters: how often each code was sent, and how often monitor
// mode would have sent it. Logged with every decision so an operator can
// follow a rollout from the log alone.
//
// And the paths where mail is let through because something the sender
// cannot cause went wrong (docs/fail-open.md): each is counted, and the count
// goes into its log line, so an operator sees how often mail passed unchecked.
//
// The counts are per Haraka process, shared by the four plugins: the
// process's one CodeCounters is PROCESS_COUNTERS (haraka/process.ts hands it
// to each plugin); a test makes its own.
export class CodeCounters {
  private readonly codes = new Map<string, number>()
  private readonly failOpen = new Map<string, number>()

  countCode(id: string, monitor: boolean): number {
    const key = monitor ? `monitor:${id}` : id
    const n = (this.codes.get(key) ?? 0) + 1
    this.codes.set(key, n)
    return n
  }

  codeCounts(): Record<string, number> {
    return Object.fromEntries(this.codes)
  }

  /** Counts one more message let through on this fail-open path; returns the running count. */
  countFailOpen(path: string): number {
    const n = (this.failOpen.get(path) ?? 0) + 1
    this.failOpen.set(path, n)
    return n
  }

  failOpenCounts(): Record<string, number> {
    return Object.fromEntries(this.failOpen)
  }
}

/** This process's counters. */
export const PROCESS_COUNTERS = new CodeCounters()

export function countCode(id: string, monitor: boolean): number {
  return PROCESS_COUNTERS.countCode(id, monitor)
}

export function codeCounts(): Record<string, number> {
  return PROCESS_COUNTERS.codeCounts()
}

/** Counts one more message let through on this fail-open path; returns the running count. */
export function countFailOpen(path: string): number {
  return PROCESS_COUNTERS.countFailOpen(path)
}

export function failOpenCounts(): Record<string, number> {
  return PROCESS_COUNTERS.failOpenCounts()
}
