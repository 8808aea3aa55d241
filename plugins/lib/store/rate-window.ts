// Rates over a sliding window at a fixed cost: two counters, the current and
// the previous fixed period, and the previous one weighted by how much of it
// still lies inside the window (as Cloudflare's and nginx's limiters do). One
// read (two keys) to check, one increment to count; nothing grows with the
// traffic or the window.
import { CounterStore } from '.'

export interface WindowKeys {
  current: string
  previous: string
  /** Share of the previous period still inside the window, 0..1. */
  weight: number
}

export function windowKeys(prefix: string, periodSec: number, nowMs: number): WindowKeys {
  const periodMs = periodSec * 1000
  const index = Math.floor(nowMs / periodMs)
  return {
    current: `${prefix}:${periodSec}:${index}`,
    previous: `${prefix}:${periodSec}:${index - 1}`,
    weight: 1 - (nowMs % periodMs) / periodMs,
  }
}

/** Messages counted in the last period, estimated. */
export async function recentCount(store: CounterStore, prefix: string, periodSec: number, nowMs = Date.now()): Promise<number> {
  const k = windowKeys(prefix, periodSec, nowMs)
  const [previous, current] = await store.get([k.previous, k.current])
  return previous * k.weight + current
}

/** Counts one message; the counter lives two periods, long enough to be "previous". */
export async function countOne(store: CounterStore, prefix: string, periodSec: number, nowMs = Date.now()): Promise<number> {
  return store.incr(windowKeys(prefix, periodSec, nowMs).current, 1, periodSec * 2)
}
