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
