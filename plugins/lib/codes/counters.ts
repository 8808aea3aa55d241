// Per-code counters: how often each code was sent, and how often monitor
// mode would have sent it. Logged with every decision so an operator can
// follow a rollout from the log alone.
//
// And the paths where mail is let through because something the sender
// cannot cause went wrong (docs/fail-open.md): each is counted, and the count
// goes into its log line, so an operator sees how often mail passed unchecked.
//
// The counts are per Haraka process, shared by the four plugins and the
// Redis store: the process's one CodeCounters is in haraka/process.ts; a
// test makes its own.
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
