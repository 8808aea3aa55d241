// Per-code counters of this process: how often each code was sent, and how
// often monitor mode would have sent it. Logged with every decision so an
// operator can follow a rollout from the log alone.
const counts = new Map<string, number>()

export function countCode(id: string, monitor: boolean): number {
  const key = monitor ? `monitor:${id}` : id
  const n = (counts.get(key) ?? 0) + 1
  counts.set(key, n)
  return n
}

export function codeCounts(): Record<string, number> {
  return Object.fromEntries(counts)
}

// The paths where mail is let through because something the sender cannot
// cause went wrong (docs/fail-open.md): each is counted, and the count goes
// into its log line, so an operator sees how often mail passed unchecked.
const failOpen = new Map<string, number>()

/** Counts one more message let through on this fail-open path; returns the running count. */
export function countFailOpen(path: string): number {
  const n = (failOpen.get(path) ?? 0) + 1
  failOpen.set(path, n)
  return n
}

export function failOpenCounts(): Record<string, number> {
  return Object.fromEntries(failOpen)
}
