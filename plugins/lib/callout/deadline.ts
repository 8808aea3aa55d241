// One bound for a whole callout: the wait for a slot and the dialogue share
// it. A deadline is an instant on performance.now()'s clock, which does not
// jump when the wall clock is set.

// A slot or a next target reached with less time than this left is not
// taken: no dialogue of five round trips fits, and the connection would only
// be dropped.
export const MIN_DIALOGUE_MS = 50

export const now = (): number => performance.now()

/** The instant ms from now. */
export function deadlineIn(ms: number): number {
  return now() + ms
}

/** Too little time left before the deadline to start a dialogue. */
export function tooLateToDial(deadline: number): boolean {
  return deadline - now() < MIN_DIALOGUE_MS
}

/** Runs fn at the deadline, or after capMs if that comes first. */
export function atDeadline(deadline: number, fn: () => void, capMs = Infinity): NodeJS.Timeout {
  return setTimeout(fn, Math.min(capMs, Math.max(0, deadline - now())))
}
