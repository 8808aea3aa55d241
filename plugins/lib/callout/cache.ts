// Callout answers kept in the counter store, so that a sender retrying or
// writing to the same recipient again does not cost the recipient's server
// another dialogue. Temporary failures are never kept: the next try asks again.
import { CalloutAnswer } from './answer'
import { CounterStore } from '../store/types'

const RESULTS = new Set(['valid', 'unknown', 'refused'])

// Local parts are case-sensitive in theory (RFC 5321 2.4) but not in
// practice; one entry per address whatever its case.
export function calloutKey(rcpt: string): string {
  return `sc:callout:${rcpt.trim().toLowerCase()}`
}

function decode(text: string | undefined): CalloutAnswer | undefined {
  if (text === undefined) return undefined
  try {
    const v = JSON.parse(text) as { result?: unknown; code?: unknown; reply?: unknown }
    if (typeof v.result !== 'string' || !RESULTS.has(v.result)) return undefined
    if (typeof v.code !== 'number' || typeof v.reply !== 'string') return undefined
    return { result: v.result as 'valid' | 'unknown' | 'refused', code: v.code, reply: v.reply }
  } catch {
    return undefined
  }
}

/**
 * The cached answer for a recipient, or run()'s, which is then stored:
 * valid for positiveTtl seconds, unknown and refused for negativeTtl, tempfail
 * not at all. A store that fails is a cache miss, and its write is skipped.
 */
export async function cachedCallout(
  store: CounterStore,
  rcpt: string,
  positiveTtl: number,
  negativeTtl: number,
  run: () => Promise<CalloutAnswer>,
): Promise<{ answer: CalloutAnswer; cached: boolean }> {
  const key = calloutKey(rcpt)
  let hit: CalloutAnswer | undefined
  try {
    hit = decode(await store.fetch(key))
  } catch {
    hit = undefined
  }
  if (hit) return { answer: hit, cached: true }

  const answer = await run()
  if (answer.result === 'tempfail') return { answer, cached: false }
  const ttl = answer.result === 'valid' ? positiveTtl : negativeTtl
  if (ttl > 0) {
    try {
      await store.put(key, JSON.stringify({ result: answer.result, code: answer.code, reply: answer.reply }), ttl)
    } catch {
      // Nothing kept; the next call asks the server again.
    }
  }
  return { answer, cached: false }
}
