// G16: a routing loop. RFC 5321 6.3: a server should refuse a message with
// an excessive number of Received headers (100 is the number it suggests;
// the provider uses fewer). A message whose Received headers name this host
// more than [loop] max_self times has come back here again and again.
import { Verdict } from '../codes/render'

export interface LoopFacts {
  /** Values of the Received headers. */
  received: readonly string[]
  /** This host's names (config/me and any aliases). */
  self: readonly string[]
}

/** How many Received headers say "by <this host>". */
export function selfCount(received: readonly string[], self: readonly string[]): number {
  const names = self.map((s) => s.toLowerCase()).filter(Boolean)
  if (!names.length) return 0
  let n = 0
  for (const value of received) {
    const by = /\bby\s+([^\s;()]+)/i.exec(value)
    if (by && names.includes(by[1].toLowerCase().replace(/\.$/, ''))) n++
  }
  return n
}

export function loopCheck(facts: LoopFacts, cfg: { max_received: number; max_self: number }): Verdict | undefined {
  if (facts.received.length > cfg.max_received) {
    return { id: 'G16', reason: `${facts.received.length} Received headers, max ${cfg.max_received}` }
  }
  const mine = selfCount(facts.received, facts.self)
  if (cfg.max_self > 0 && mine > cfg.max_self) {
    return { id: 'G16', reason: `this host appears in ${mine} Received headers, max ${cfg.max_self}` }
  }
  return undefined
}
